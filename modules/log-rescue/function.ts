import { Construct } from 'constructs';
import { AssetType, Fn, TerraformAsset } from 'cdktf';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { handlerTimeoutSeconds } from '../../handlers/log-rescue/timing';
import { handlerZip } from './handler-asset';
import { AwsContext } from '../shared/aws-context';
import { policyDocument, serviceTrustPolicy } from '../shared/iam';
import { named } from '../shared/addresses';
import { handlerEnvironment, METRIC_NAMESPACE } from '../../handlers/log-rescue/contract';

export interface RescueFunctionProps {
  readonly aws: AwsContext;
  /** Also names its role (`<functionName>-role`) and log group (`/aws/lambda/<functionName>`). */
  readonly functionName: string;
  /** The rescue document: the only one the function may send. */
  readonly document: { readonly name: string };
  /** The protected groups: the only ones whose instances it may send to and whose lifecycle actions it may complete. */
  readonly groupNames: string[];
  /** The termination lifecycle hook it completes. */
  readonly hookName: string;
  /**
   * The queue the rules feed, which the function reads and sends an event back to (to look at its
   * agent again); its redrive policy dead-letters what the handler keeps failing.
   */
  readonly eventQueue: Pick<SqsQueue, 'arn' | 'name'>;
  /** Value of the `Stack` dimension of the handler's metrics. */
  readonly metricStack: string;
  /** How long the handler waits for an instance's SSM agent to be online; the function timeout follows from it. */
  readonly onlineWaitSeconds: number;
  /** `timeoutSeconds` of the document's shell step, which the handler bounds a command's run by. */
  readonly executionTimeoutSeconds: number;
  /** The lifecycle hook's heartbeat timeout: how long an instance can wait for its logs. */
  readonly heartbeatTimeoutSeconds: number;
  readonly memoryMb: number;
  /** Retention of the function's log group. */
  readonly logRetentionDays: number;
  /**
   * Lambda reserved concurrency. Lambda refuses a reservation that leaves the account fewer than
   * 100 unreserved executions, so none is the default.
   * @default no reservation
   */
  readonly reservedConcurrency?: number;
  /** Most events per invocation (one SendCommand covers a batch of instances). */
  readonly batchSize: number;
  /** How long the event source mapping gathers a batch. */
  readonly batchWindowSeconds: number;
  /** The event source mapping's maximum concurrency: the cap on concurrent invocations. */
  readonly maximumConcurrency: number;
}

/**
 * The handler Lambda (bundled from handlers/log-rescue at synth), reading the event queue in
 * batches; its log group; and a role that can send only our document, only to instances of the
 * protected groups, complete lifecycle actions only on those groups, and consume (and send back to)
 * only that queue.
 */
export class RescueFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: RescueFunctionProps) {
    super(scope, id);
    const { aws } = props;

    const logGroup = named(new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays,
    }), 'handler');

    this.role = named(new IamRole(this, 'role', {
      name: `${props.functionName}-role`,
      assumeRolePolicy: serviceTrustPolicy('lambda.amazonaws.com', aws.accountId),
    }), 'handler');

    const instanceArns = aws.arn('ec2', 'instance/*');
    const groupArns = Fn.formatlist(
      'arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s',
      [aws.partition, aws.region, aws.accountId, props.groupNames],
    );
    const policy = named(new IamRolePolicy(this, 'policy', {
      name: 'log-rescue',
      role: this.role.id,
      policy: policyDocument([
        { Sid: 'SendOnlyTheRescueDocument', Effect: 'Allow', Action: 'ssm:SendCommand', Resource: aws.arn('ssm', `document/${props.document.name}`) },
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
        // Agent status, group membership, a command's parameters (for an invocation event) and its
        // per-instance statuses (behind a command-level event). None of these actions supports
        // resource-level permissions: AWS accepts only "*" here.
        {
          Sid: 'ReadOnlyActionsWithoutResourceLevelPermissions',
          Effect: 'Allow',
          Action: ['ssm:DescribeInstanceInformation', 'autoscaling:DescribeAutoScalingInstances', 'ssm:ListCommands', 'ssm:ListCommandInvocations'],
          Resource: '*',
        },
        { Sid: 'OwnLogsOnly', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logGroup.arn}:*` },
        {
          Sid: 'ConsumeOnlyTheEventQueue',
          Effect: 'Allow',
          // What the event source mapping calls with this role (AWS Lambda Developer Guide, "Using
          // Lambda with Amazon SQS", execution role permissions); the handler itself only sends.
          Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          Resource: props.eventQueue.arn,
        },
        // An instance whose agent is not Online yet: its event goes back to the queue, delayed,
        // instead of the invocation waiting for the agent.
        { Sid: 'RequeueOnlyToTheEventQueue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: props.eventQueue.arn },
      ]),
    }), 'handler');

    const asset = new TerraformAsset(this, 'code', { path: handlerZip(), type: AssetType.FILE });

    this.function = named(new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: 'Rescues instance logs to S3 before Auto Scaling terminates the instance',
      role: this.role.arn,
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: asset.path,
      sourceCodeHash: Fn.filebase64sha256(asset.path),
      memorySize: props.memoryMb,
      // A timeout mid-flight fails the whole batch: every message in it is received again after the
      // queue's visibility timeout, which is derived from this one.
      timeout: handlerTimeoutSeconds(props.onlineWaitSeconds),
      // Unset means no reservation: the argument is left out, which the provider (5.x) plans as its
      // default -1, "removes any concurrency limitations" (aws_lambda_function,
      // reserved_concurrent_executions), so a reservation set before is also removed. A reservation
      // is opt-in because Lambda refuses one that leaves the account fewer than 100 unreserved
      // executions (config/schema.ts, handler.reservedConcurrency).
      reservedConcurrentExecutions: props.reservedConcurrency,
      loggingConfig: { logFormat: 'JSON', logGroup: logGroup.name },
      environment: {
        variables: handlerEnvironment({
          documentName: props.document.name,
          asgNames: Fn.join(',', props.groupNames),
          hookName: props.hookName,
          onlineWaitSeconds: String(props.onlineWaitSeconds),
          executionTimeoutSeconds: String(props.executionTimeoutSeconds),
          heartbeatTimeoutSeconds: String(props.heartbeatTimeoutSeconds),
          metricNamespace: METRIC_NAMESPACE,
          // The URL SQS gives the queue, built from values known at plan (the queue's own `url`
          // is not), so a plan under review shows every variable of the function.
          queueUrl: `https://sqs.${aws.region}.${aws.dnsSuffix}/${aws.accountId}/${props.eventQueue.name}`,
          stackId: props.metricStack,
        }),
      },
      dependsOn: [logGroup],
    }), 'handler');

    named(new LambdaEventSourceMapping(this, 'event-queue', {
      functionName: this.function.arn,
      eventSourceArn: props.eventQueue.arn,
      batchSize: props.batchSize,
      maximumBatchingWindowInSeconds: props.batchWindowSeconds,
      // The handler names the messages it could not handle; the rest of the batch is deleted, so
      // one bad event does not retry (and re-send commands for) the instances beside it.
      functionResponseTypes: ['ReportBatchItemFailures'],
      // The cap on the consumer: polling stops at this many concurrent invocations instead of
      // invoking into throttles, which would count receives against messages that never ran. The
      // config keeps it at most the reserved concurrency when one is set.
      scalingConfig: { maximumConcurrency: props.maximumConcurrency },
      // Lambda checks at creation that the role can read the queue.
      dependsOn: [policy],
    }), 'handler_events');
  }
}
