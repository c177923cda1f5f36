import { Construct } from 'constructs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { named } from './addresses';

/**
 * Account, partition and region of the stack, read once and shared by every module, so ARNs and
 * confused-deputy conditions are built from the real account rather than from `*`.
 */
export interface AwsContextProps {
  /** The stack's region (the provider's), for ARNs and endpoints. */
  readonly region: string;
}

export class AwsContext extends Construct {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  /** The partition's DNS suffix: amazonaws.com, amazonaws.com.cn, ... */
  readonly dnsSuffix: string;

  constructor(scope: Construct, id: string, props: AwsContextProps) {
    super(scope, id);
    this.region = props.region;
    this.accountId = named(new DataAwsCallerIdentity(this, 'caller'), 'current').accountId;
    const partition = named(new DataAwsPartition(this, 'partition'), 'current');
    this.partition = partition.partition;
    this.dnsSuffix = partition.dnsSuffix;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; pass '' for global parts. */
  arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    const region = opts.region ?? this.region;
    const account = opts.account ?? this.accountId;
    return `arn:${this.partition}:${service}:${region}:${account}:${resource}`;
  }
}
