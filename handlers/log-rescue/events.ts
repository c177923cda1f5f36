/**
 * The four EventBridge events the log rescue handler accepts, and a strict parser for them.
 *
 * Anything that reaches the handler is treated as untrusted: a rule can be edited, a test event can
 * be sent by hand, and every string here ends up in an AWS API call or a log line. The parser
 * checks type, length and alphabet of every field it returns, and reports the first problem as a
 * field path (never the value, so a hostile value is not echoed into the logs).
 */
import {
  ASG_NAME_PATTERN, EVENTS, HOOK_NAME_PATTERN, MAX_INSTANCES_PER_COMMAND, TERMINAL_COMMAND_STATUSES,
} from '../../config/patterns';

export const LIFECYCLE_SOURCE = EVENTS.lifecycle.source;
export const LIFECYCLE_DETAIL_TYPE = EVENTS.lifecycle.detailType;
export const TERMINATING_TRANSITION = 'autoscaling:EC2_INSTANCE_TERMINATING';
export const COMMAND_SOURCE = EVENTS.commandStatus.source;
export const COMMAND_DETAIL_TYPE = EVENTS.commandStatus.detailType;
export const INVOCATION_DETAIL_TYPE = EVENTS.commandInvocation.detailType;
export const SPOT_SOURCE = EVENTS.spotWarning.source;
export const SPOT_DETAIL_TYPE = EVENTS.spotWarning.detailType;

export { TERMINAL_COMMAND_STATUSES };
export const PENDING_COMMAND_STATUSES = ['Pending', 'InProgress', 'Delayed', 'Cancelling'] as const;
export type TerminalCommandStatus = (typeof TERMINAL_COMMAND_STATUSES)[number];
export type PendingCommandStatus = (typeof PENDING_COMMAND_STATUSES)[number];

export const SPOT_ACTIONS = ['terminate', 'stop', 'hibernate'] as const;
export type SpotAction = (typeof SPOT_ACTIONS)[number];

/** What started a rescue; travels to the instance and back as the `trigger` command parameter. */
export type Trigger = 'lifecycle' | 'spot';

export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8,17}$/;
const ASG_NAME = new RegExp(ASG_NAME_PATTERN);
const HOOK_NAME = new RegExp(HOOK_NAME_PATTERN);
const EVENT_ID = /^[A-Za-z0-9-]{1,128}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** EventBridge and SSM write UTC ISO 8601, with or without milliseconds. */
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;
const TOKEN = /^[A-Za-z0-9-]{1,128}$/;
const COMMAND_ID = /^[0-9a-fA-F-]{36}$/;
/** Document names, or ARNs of shared documents. */
const DOCUMENT_NAME = /^[A-Za-z0-9_.:/-]{1,256}$/;
const STATUS = /^[A-Za-z]{1,32}$/;
const PARAMETER_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const INSTANCE_ARN = /^arn:aws(-cn|-us-gov)?:ec2:[a-z0-9-]{1,32}:\d{12}:instance\/(i-[0-9a-f]{8,17})$/;
/** The compact UTC time used in archive keys, e.g. 20261120T223000Z. */
export const EVENT_TIME_PATTERN = /^\d{8}T\d{6}Z$/;
export const TRIGGER_PATTERN = /^(lifecycle|spot)$/;

const MAX_SHORT = 256;
/** A command-level event lists every instance of the command. */
const MAX_RESOURCES = MAX_INSTANCES_PER_COMMAND;
const MAX_RESOURCE_LENGTH = 2048;
/** NotificationMetadata is at most 1023 characters in the Auto Scaling API. */
const MAX_METADATA = 1023;
const MAX_PARAMETERS = 50;
const MAX_PARAMETER_VALUES = 50;
const MAX_PARAMETER_VALUE = 4096;

interface Envelope {
  id: string;
  /** As sent, ISO 8601 UTC. */
  time: string;
  timeMs: number;
  account: string;
  region: string;
  resources: string[];
}

export interface LifecycleActionEvent extends Envelope {
  kind: 'lifecycle';
  asgName: string;
  hookName: string;
  instanceId: string;
  lifecycleActionToken: string;
  notificationMetadata?: string;
  origin?: string;
  destination?: string;
}

/** The command-level event: one per command, whatever its number of instances. */
export interface CommandStatusEvent extends Envelope {
  kind: 'command-status';
  commandId: string;
  documentName: string;
  status: string;
  terminal: boolean;
  /** As sent by SSM, checked for shape and size only: see `readRescueParameters`. */
  parameters: Record<string, string[]>;
  requestedTime: string;
  requestedTimeMs: number;
  /** From `resources`: every instance the command was sent to (1..50). */
  instanceIds: string[];
}

/** The invocation-level event: one instance's copy of a command changed status. Carries no parameters. */
export interface CommandInvocationEvent extends Envelope {
  kind: 'command-invocation';
  commandId: string;
  documentName: string;
  status: string;
  terminal: boolean;
  requestedTime: string;
  requestedTimeMs: number;
  instanceId: string;
}

export interface SpotWarningEvent extends Envelope {
  kind: 'spot';
  instanceId: string;
  instanceAction: SpotAction;
}

export type RescueEvent = LifecycleActionEvent | CommandStatusEvent | CommandInvocationEvent | SpotWarningEvent;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The rescue's own command parameters, read back from a command status event. */
export interface RescueParameters {
  asgName: string;
  hookName: string;
  trigger: Trigger;
  eventTime: string;
}

class Rejection extends Error {}

function reject(reason: string): never {
  throw new Rejection(reason);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, path: string, pattern: RegExp, what: string, max = MAX_SHORT): string {
  const v = obj[key];
  if (v === undefined || v === null) reject(`${path}: missing`);
  if (typeof v !== 'string') reject(`${path}: not a string`);
  // Length first, so a huge string never reaches a regular expression.
  if (v.length === 0 || v.length > max) reject(`${path}: length ${v.length} outside 1..${max}`);
  if (!pattern.test(v)) reject(`${path}: not ${what}`);
  return v;
}

function optionalStr(obj: Record<string, unknown>, key: string, path: string, max: number): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') reject(`${path}: not a string`);
  if (v.length > max) reject(`${path}: length ${v.length} over ${max}`);
  return v;
}

function isoTime(obj: Record<string, unknown>, key: string, path: string): { text: string; ms: number } {
  const text = str(obj, key, path, ISO_UTC, 'an ISO 8601 UTC time', 64);
  const ms = Date.parse(text);
  // Date.parse rolls a day the month lacks over (2026-02-30 -> 2026-03-02): the time read back must
  // be the one written, or the archive key would name a day that never was.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19)) reject(`${path}: not a valid time`);
  return { text, ms };
}

function envelope(event: Record<string, unknown>): Envelope {
  const time = isoTime(event, 'time', 'time');
  const resources = event.resources;
  if (resources === undefined) reject('resources: missing');
  if (!Array.isArray(resources)) reject('resources: not an array');
  if (resources.length > MAX_RESOURCES) reject(`resources: more than ${MAX_RESOURCES} entries`);
  resources.forEach((r, i) => {
    if (typeof r !== 'string') reject(`resources[${i}]: not a string`);
    if (r.length > MAX_RESOURCE_LENGTH) reject(`resources[${i}]: longer than ${MAX_RESOURCE_LENGTH}`);
  });
  return {
    id: str(event, 'id', 'id', EVENT_ID, 'an event id'),
    time: time.text,
    timeMs: time.ms,
    account: str(event, 'account', 'account', ACCOUNT, 'a 12-digit account id'),
    region: str(event, 'region', 'region', REGION, 'a region name'),
    resources: resources as string[],
  };
}

function detailOf(event: Record<string, unknown>): Record<string, unknown> {
  if (!isRecord(event.detail)) reject(event.detail === undefined ? 'detail: missing' : 'detail: not an object');
  return event.detail;
}

function parseLifecycle(event: Record<string, unknown>): LifecycleActionEvent {
  const env = envelope(event);
  const d = detailOf(event);
  const transition = str(d, 'LifecycleTransition', 'detail.LifecycleTransition', /^[A-Za-z0-9:_]+$/, 'a lifecycle transition', 64);
  if (transition !== TERMINATING_TRANSITION) reject(`detail.LifecycleTransition: not ${TERMINATING_TRANSITION}`);
  return {
    kind: 'lifecycle',
    ...env,
    asgName: str(d, 'AutoScalingGroupName', 'detail.AutoScalingGroupName', ASG_NAME, 'an Auto Scaling group name'),
    hookName: str(d, 'LifecycleHookName', 'detail.LifecycleHookName', HOOK_NAME, 'a lifecycle hook name'),
    instanceId: str(d, 'EC2InstanceId', 'detail.EC2InstanceId', INSTANCE_ID_PATTERN, 'an instance id', 19),
    lifecycleActionToken: str(d, 'LifecycleActionToken', 'detail.LifecycleActionToken', TOKEN, 'a lifecycle action token'),
    notificationMetadata: optionalStr(d, 'NotificationMetadata', 'detail.NotificationMetadata', MAX_METADATA),
    origin: optionalStr(d, 'Origin', 'detail.Origin', 64),
    destination: optionalStr(d, 'Destination', 'detail.Destination', 64),
  };
}

function parseParameters(d: Record<string, unknown>): Record<string, string[]> {
  const p = d.parameters;
  if (p === undefined) reject('detail.parameters: missing');
  if (!isRecord(p)) reject('detail.parameters: not an object');
  const keys = Object.keys(p);
  if (keys.length > MAX_PARAMETERS) reject(`detail.parameters: more than ${MAX_PARAMETERS} parameters`);
  const out: Record<string, string[]> = {};
  for (const key of keys) {
    if (key.length > 128 || !PARAMETER_NAME.test(key)) reject('detail.parameters: a parameter name is not letters, digits, _ . -');
    const values = p[key];
    if (!Array.isArray(values)) reject(`detail.parameters.${key}: not an array`);
    if (values.length > MAX_PARAMETER_VALUES) reject(`detail.parameters.${key}: more than ${MAX_PARAMETER_VALUES} values`);
    values.forEach((v, i) => {
      if (typeof v !== 'string') reject(`detail.parameters.${key}[${i}]: not a string`);
      if (v.length > MAX_PARAMETER_VALUE) reject(`detail.parameters.${key}[${i}]: longer than ${MAX_PARAMETER_VALUE}`);
    });
    out[key] = values as string[];
  }
  return out;
}

function commandCommon(d: Record<string, unknown>) {
  const status = str(d, 'status', 'detail.status', STATUS, 'a command status', 32);
  const terminal = (TERMINAL_COMMAND_STATUSES as readonly string[]).includes(status);
  if (!terminal && !(PENDING_COMMAND_STATUSES as readonly string[]).includes(status)) reject('detail.status: not a known command status');
  const requested = isoTime(d, 'requested-date-time', 'detail.requested-date-time');
  return {
    commandId: str(d, 'command-id', 'detail.command-id', COMMAND_ID, 'a command id', 36),
    documentName: str(d, 'document-name', 'detail.document-name', DOCUMENT_NAME, 'a document name'),
    status,
    terminal,
    requestedTime: requested.text,
    requestedTimeMs: requested.ms,
  };
}

function parseCommandStatus(event: Record<string, unknown>): CommandStatusEvent {
  const env = envelope(event);
  const d = detailOf(event);
  const common = commandCommon(d);
  // Our commands go to instances by id: the event names each of them.
  if (env.resources.length === 0) reject('resources: no instance ARN');
  const instanceIds = env.resources.map((r, i) => {
    const arn = INSTANCE_ARN.exec(r);
    if (!arn) reject(`resources[${i}]: not an EC2 instance ARN`);
    return arn[2];
  });
  return { kind: 'command-status', ...env, ...common, parameters: parseParameters(d), instanceIds: [...new Set(instanceIds)] };
}

function parseCommandInvocation(event: Record<string, unknown>): CommandInvocationEvent {
  const env = envelope(event);
  const d = detailOf(event);
  const common = commandCommon(d);
  const instanceId = str(d, 'instance-id', 'detail.instance-id', INSTANCE_ID_PATTERN, 'an instance id', 19);
  return { kind: 'command-invocation', ...env, ...common, instanceId };
}

function parseSpot(event: Record<string, unknown>): SpotWarningEvent {
  const env = envelope(event);
  const d = detailOf(event);
  const instanceId = str(d, 'instance-id', 'detail.instance-id', INSTANCE_ID_PATTERN, 'an instance id', 19);
  const action = str(d, 'instance-action', 'detail.instance-action', /^[a-z]+$/, 'an instance action', 16);
  if (!(SPOT_ACTIONS as readonly string[]).includes(action)) reject(`detail.instance-action: not one of ${SPOT_ACTIONS.join(', ')}`);
  return { kind: 'spot', ...env, instanceId, instanceAction: action as SpotAction };
}

/** Parse one EventBridge event into a rescue event, or say why it is not one. Never throws. */
export function parseEvent(event: unknown): Parsed<RescueEvent> {
  try {
    if (!isRecord(event)) reject('event: not an object');
    const source = str(event, 'source', 'source', /^[A-Za-z0-9.-]+$/, 'an event source', 128);
    const detailType = str(event, 'detail-type', 'detail-type', /^[A-Za-z0-9 .-]+$/, 'a detail type', 128);
    if (source === LIFECYCLE_SOURCE && detailType === LIFECYCLE_DETAIL_TYPE) return { ok: true, value: parseLifecycle(event) };
    if (source === COMMAND_SOURCE && detailType === COMMAND_DETAIL_TYPE) return { ok: true, value: parseCommandStatus(event) };
    if (source === COMMAND_SOURCE && detailType === INVOCATION_DETAIL_TYPE) return { ok: true, value: parseCommandInvocation(event) };
    if (source === SPOT_SOURCE && detailType === SPOT_DETAIL_TYPE) return { ok: true, value: parseSpot(event) };
    return reject('source/detail-type: not an event this handler takes');
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, reason: e.message };
    // A getter or proxy in a hand-made event; still a rejection, not a Lambda retry.
    return { ok: false, reason: 'event: could not be read' };
  }
}

function single(params: Record<string, string[]>, name: string, pattern: RegExp, what: string): string {
  const values = params[name];
  if (values === undefined) reject(`detail.parameters.${name}: missing`);
  if (values.length !== 1) reject(`detail.parameters.${name}: not exactly one value`);
  const v = values[0];
  if (v.length === 0 || v.length > MAX_SHORT || !pattern.test(v)) reject(`detail.parameters.${name}: not ${what}`);
  return v;
}

/** The rescue's own parameters from a command status event of the rescue document. */
export function readRescueParameters(params: Record<string, string[]>): Parsed<RescueParameters> {
  try {
    return {
      ok: true,
      value: {
        asgName: single(params, 'asgName', ASG_NAME, 'an Auto Scaling group name'),
        hookName: single(params, 'hookName', HOOK_NAME, 'a lifecycle hook name'),
        trigger: single(params, 'trigger', TRIGGER_PATTERN, 'lifecycle or spot') as Trigger,
        eventTime: single(params, 'eventTime', EVENT_TIME_PATTERN, 'a compact UTC time'),
      },
    };
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, reason: e.message };
    throw e;
  }
}

/** Milliseconds since the epoch of a compact UTC time (`20261120T223000Z`, what compactUtc writes). */
export function compactUtcMs(t: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(t);
  if (!m) throw new Error(`not a compact UTC time: ${t.slice(0, 64)}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/**
 * `2026-11-20T22:30:00Z` -> `20261120T223000Z`. Taken from the event's own time (not the clock), so a
 * duplicate delivery of the same event writes the same archive key.
 */
export function compactUtc(isoTime: string): string {
  const m = ISO_UTC.exec(isoTime);
  if (!m) throw new Error(`not an ISO 8601 UTC time: ${isoTime.slice(0, 64)}`);
  return `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z`;
}
