/**
 * Errors as the AWS SDK v3 clients throw them: the modeled exception classes where the service
 * models one, otherwise the service's base exception with the error code as `name`, always with
 * `$fault` and `$metadata.httpStatusCode`, so the handler's retry classification sees what it
 * would see in production.
 */
import {
  InvalidCommandId, InvalidDocument, InvalidInstanceId, InvalidInstanceInformationFilterValue, InvalidParameters, SSMServiceException,
  ThrottlingException,
} from '@aws-sdk/client-ssm';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { InvalidAttributeValue, QueueDoesNotExist } from '@aws-sdk/client-sqs';

const meta = (status: number, requestId: string) => ({ httpStatusCode: status, requestId, attempts: 1, totalRetryDelay: 0 });

export const ssmErrors = {
  throttling: (requestId: string) => new ThrottlingException({ $metadata: meta(400, requestId), message: 'Rate exceeded', Message: 'Rate exceeded' }),
  invalidInstanceId: (requestId: string, instanceId: string) => new InvalidInstanceId({
    $metadata: meta(400, requestId), message: `Instances [[${instanceId}]] not in a valid state for account`,
  }),
  invalidFilterValue: (requestId: string, value: string) => new InvalidInstanceInformationFilterValue({
    $metadata: meta(400, requestId), message: `Invalid filter value ${value.slice(0, 64)}`,
  }),
  invalidParameters: (requestId: string, message: string) => new InvalidParameters({ $metadata: meta(400, requestId), message }),
  invalidDocument: (requestId: string, name: string) => new InvalidDocument({
    $metadata: meta(400, requestId), message: `Document ${name.slice(0, 128)} does not exist`,
  }),
  invalidCommandId: (requestId: string) => new InvalidCommandId({ $metadata: meta(400, requestId), message: 'Invalid command id' }),
  validation: (requestId: string, message: string) => new SSMServiceException({
    name: 'ValidationException', $fault: 'client', $metadata: meta(400, requestId), message,
  }),
};

export const autoScalingErrors = {
  /** The Query protocol's throttling code. */
  throttling: (requestId: string) => new AutoScalingServiceException({
    name: 'Throttling', $fault: 'client', $metadata: meta(400, requestId), message: 'Rate exceeded',
  }),
  noActiveAction: (requestId: string, instanceId: string) => new AutoScalingServiceException({
    name: 'ValidationError', $fault: 'client', $metadata: meta(400, requestId),
    message: `No active Lifecycle Action found with instance ID ${instanceId}`,
  }),
  validation: (requestId: string, message: string) => new AutoScalingServiceException({
    name: 'ValidationError', $fault: 'client', $metadata: meta(400, requestId), message,
  }),
};

export const sqsErrors = {
  queueDoesNotExist: (requestId: string) => new QueueDoesNotExist({ $metadata: meta(400, requestId), message: 'The specified queue does not exist.' }),
  invalidValue: (requestId: string, message: string) => new InvalidAttributeValue({ $metadata: meta(400, requestId), message }),
};

/** What the SDK throws when the connection to the endpoint times out (no HTTP answer, no `$fault`). */
export function connectionTimeout(ms: number): Error {
  return Object.assign(new Error(`Connection timed out after ${ms} ms`), {
    name: 'TimeoutError', $metadata: { attempts: 1, totalRetryDelay: 0 },
  });
}
