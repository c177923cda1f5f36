import { Construct } from 'constructs';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LogRescueConfig } from '../config/schema';
import { handlerZip } from './handler-asset';
import { AwsContext } from './aws-context';
import { policyDocument, serviceTrustPolicy } from './iam';

export const METRIC_NAMESPACE = 'LogRescue';
const LAMBDA_MAX_EVENT_AGE_SECONDS = 21600;

export interface RescueFunctionProps {
  readonly config: LogRescueConfig;
  readonly aws: AwsContext;
  readonly functionName: string;
  readonly documentName: string;
  readonly groupNames: string[];
  readonly hookName: string;
  /** Where failed async invocations go after Lambda's own retries. */
  readonly deadLetterQueueArn: string;
  /** Value of the `Stack` dimension of the handler's metrics. */
  readonly metricStack: string;
}

/**
 * The handler Lambda (bundled from handlers/log-rescue at synth), its log group, and a role that
 * can send only our document, only to instances of the protected groups, and complete lifecycle
 * actions only on those groups.
 */
export class RescueFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: RescueFunctionProps) {
    super(scope, id);
    const { config, aws } = props;
    const h = config.handler;

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: h.logRetentionDays,
    });

    this.role = new IamRole(this, 'role', {
      name: `${props.functionName}-role`,
      assumeRolePolicy: serviceTrustPolicy('lambda.amazonaws.com', aws.accountId),
    });

    const instanceArns = aws.arn('ec2', 'instance/*');
    const groupArns = Fn.formatlist(
      'arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s',
      [aws.partition, aws.region, aws.accountId, props.groupNames],
    );
    new IamRolePolicy(this, 'policy', {
      name: 'log-rescue',
      role: this.role.id,
      policy: policyDocument([
        { Sid: 'SendOnlyTheRescueDocument', Effect: 'Allow', Action: 'ssm:SendCommand', Resource: aws.arn('ssm', `document/${props.documentName}`) },
        {
          Sid: 'SendOnlyToProtectedGroups',
          Effect: 'Allow',
          Action: 'ssm:SendCommand',
          Resource: instanceArns,
          Condition: { StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': props.groupNames } },
        },
        {
          Sid: 'CompleteOnlyProtectedGroups',
          Effect: 'Allow',
          Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
          Resource: groupArns,
        },
        // Neither action supports resource-level permissions: AWS accepts only "*" here.
        { Sid: 'ReadAgentAndGroupMembership', Effect: 'Allow', Action: ['ssm:DescribeInstanceInformation', 'autoscaling:DescribeAutoScalingInstances'], Resource: '*' },
        { Sid: 'OwnLogsOnly', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logGroup.arn}:*` },
        { Sid: 'FailedEventsToDeadLetterQueue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: props.deadLetterQueueArn },
      ]),
    });

    const asset = new TerraformAsset(this, 'code', { path: handlerZip(), type: AssetType.FILE });

    this.function = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: 'Rescues instance logs to S3 before Auto Scaling terminates the instance',
      role: this.role.arn,
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: asset.path,
      sourceCodeHash: Fn.filebase64sha256(asset.path),
      memorySize: h.memoryMb,
      // The online wait plus up to five throttled calls after it (agent check, group check,
      // heartbeat, send, complete: 15 s of backoff each), with room to spare. A timeout mid-flight
      // would make Lambda retry the whole event.
      timeout: h.onlineWaitSeconds + 100,
      reservedConcurrentExecutions: h.reservedConcurrency,
      loggingConfig: { logFormat: 'JSON', logGroup: logGroup.name },
      environment: {
        variables: {
          DOCUMENT_NAME: props.documentName,
          ASG_NAMES: Fn.join(',', props.groupNames),
          HOOK_NAME: props.hookName,
          ONLINE_WAIT_SECONDS: String(h.onlineWaitSeconds),
          EXECUTION_TIMEOUT_SECONDS: String(config.command.executionTimeoutSeconds),
          HEARTBEAT_TIMEOUT_SECONDS: String(config.lifecycleHook.heartbeatTimeoutSeconds),
          METRIC_NAMESPACE,
          STACK_ID: props.metricStack,
        },
      },
      dependsOn: [logGroup],
    });

    new LambdaFunctionEventInvokeConfig(this, 'async', {
      functionName: this.function.functionName,
      maximumRetryAttempts: 2,
      // Lambda's async queue keeps events at most 6 hours (EventBridge allows 24).
      maximumEventAgeInSeconds: Math.min(config.retry.maximumEventAgeSeconds, LAMBDA_MAX_EVENT_AGE_SECONDS),
      destinationConfig: { onFailure: { destination: props.deadLetterQueueArn } },
    });
  }
}
