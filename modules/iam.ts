import { Fn } from 'cdktf';

/** One IAM policy statement, written as AWS expects it. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: Record<string, string | string[]> | '*';
  readonly Action: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

/**
 * A policy document as a Terraform expression. `jsonencode` keeps references to other resources
 * resolvable in both the JSON and the HCL output.
 */
export function policyDocument(statements: PolicyStatement[]): string {
  return Fn.jsonencode({ Version: '2012-10-17', Statement: statements });
}

/** Trust policy for an AWS service, scoped to this account (confused-deputy protection). */
export function serviceTrustPolicy(service: string, accountId: string, sourceArn?: string): string {
  const condition: Record<string, Record<string, string>> = { StringEquals: { 'aws:SourceAccount': accountId } };
  if (sourceArn) condition.ArnLike = { 'aws:SourceArn': sourceArn };
  return policyDocument([{
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'sts:AssumeRole',
    Condition: condition,
  }]);
}
