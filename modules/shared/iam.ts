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

/**
 * Services that document `sts:ExternalId` = the account id, not `aws:SourceAccount`, as what they
 * send when assuming a role (Firehose's S3 destination guide).
 */
const EXTERNAL_ID_SERVICES = new Set(['firehose.amazonaws.com']);

/** Trust policy for an AWS service, scoped to this account (confused-deputy protection). */
export function serviceTrustPolicy(service: string, accountId: string, sourceArn?: string): string {
  const accountKey = EXTERNAL_ID_SERVICES.has(service) ? 'sts:ExternalId' : 'aws:SourceAccount';
  const condition: Record<string, Record<string, string>> = { StringEquals: { [accountKey]: accountId } };
  if (sourceArn) condition.ArnLike = { 'aws:SourceArn': sourceArn };
  return policyDocument([{
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'sts:AssumeRole',
    Condition: condition,
  }]);
}
