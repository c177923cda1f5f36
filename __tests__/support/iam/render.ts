/**
 * Policies as AWS will receive them. The synthesized stacks hold `${jsonencode({...})}` expressions
 * full of references (`aws_s3_bucket.x.arn`, `data.aws_caller_identity.x.account_id`, `formatlist`);
 * here every reference is replaced by a realistic literal (names from the stack, ARNs formed the
 * way AWS forms them) and Terraform itself evaluates the expressions, offline, in an outputs-only
 * configuration. A reference this file cannot resolve fails the evaluation.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StackJson } from '../synth';

export const ACCOUNT = '123456789012';
export const PARTITION = 'aws';
export const DNS_SUFFIX = 'amazonaws.com';
/**
 * What the AWS provider appends to a `bucket_prefix` (its `id.PrefixedUniqueId`: a UTC timestamp
 * with 4 digits of sub-second time, then an 8-digit hex counter; 26 characters in all).
 */
export const BUCKET_UNIQUE_SUFFIX = '20261203201500123400000001';

export type Attrs = Record<string, unknown>;

/** The literal attributes of one resource or data source, as they would be after apply. */
function attributesOf(type: string, name: string, config: Record<string, any>, region: string, remoteOutputs: Record<string, Record<string, unknown>>): Attrs {
  const literal: Attrs = {};
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === 'string' && !v.includes('${')) literal[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') literal[k] = v;
  }
  const arn = (service: string, resource: string, r = region, a = ACCOUNT) => `arn:${PARTITION}:${service}:${r}:${a}:${resource}`;
  const need = (key: string): string => {
    const v = literal[key];
    if (typeof v !== 'string') throw new Error(`cannot resolve ${type}.${name}: its ${key} is not a literal (${JSON.stringify(config[key])})`);
    return v;
  };
  const uuid = (seed: string) => {
    const h = createHash('sha256').update(seed).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  // ARN formats: the Service Authorization Reference's resource types for each service
  // (docs.aws.amazon.com/service-authorization/latest/reference/list_<service>.html).
  switch (type) {
    case 'data.aws_caller_identity': return { account_id: ACCOUNT, arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/terraform`, user_id: 'AROAEXAMPLE:terraform' };
    case 'data.aws_partition': return { partition: PARTITION, dns_suffix: DNS_SUFFIX, id: PARTITION };
    case 'data.aws_region': return { name: region, id: region };
    case 'data.terraform_remote_state': {
      // Keyed by the config's name for the state (the construct id: `remoteStates.<name>`).
      const path = config['//']?.metadata?.path as string | undefined;
      const id = path ? path.split('/').pop()! : (/^remote-state_(.+)_[0-9A-F]{8}$/.exec(name)?.[1] ?? name);
      const outputs = remoteOutputs[id] ?? remoteOutputs[name];
      if (!outputs) throw new Error(`cannot resolve data.terraform_remote_state.${name}: the test gave no outputs for remote state "${id}"`);
      return { outputs };
    }
    case 'aws_s3_bucket': {
      const bucket = typeof literal.bucket === 'string' ? literal.bucket : `${need('bucket_prefix')}${BUCKET_UNIQUE_SUFFIX}`;
      return { ...literal, bucket, id: bucket, arn: `arn:${PARTITION}:s3:::${bucket}` };
    }
    case 'aws_sqs_queue': {
      const n = need('name');
      const url = `https://sqs.${region}.${DNS_SUFFIX}/${ACCOUNT}/${n}`;
      return { ...literal, arn: arn('sqs', n), url, id: url };
    }
    case 'aws_cloudwatch_log_group': {
      // The provider strips the ":*" the API appends.
      const n = need('name');
      return { ...literal, arn: arn('logs', `log-group:${n}`), id: n };
    }
    case 'aws_ssm_document': {
      const n = need('name');
      return { ...literal, arn: arn('ssm', `document/${n}`), id: n };
    }
    case 'aws_cloudwatch_event_rule': {
      const n = need('name');
      return { ...literal, arn: arn('events', `rule/${n}`), id: n };
    }
    case 'aws_kinesis_firehose_delivery_stream': {
      const n = need('name');
      return { ...literal, arn: arn('firehose', `deliverystream/${n}`), id: arn('firehose', `deliverystream/${n}`) };
    }
    case 'aws_kms_key': {
      const id = uuid(`${region}/${name}`);
      return { ...literal, key_id: id, id, arn: arn('kms', `key/${id}`) };
    }
    case 'aws_iam_role': {
      const n = need('name');
      return { ...literal, arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${n}`, id: n, unique_id: `AROA${createHash('sha256').update(n).digest('hex').slice(0, 17).toUpperCase()}` };
    }
    case 'aws_iam_policy': {
      const n = need('name');
      const a = `arn:${PARTITION}:iam::${ACCOUNT}:policy/${n}`;
      return { ...literal, arn: a, id: a };
    }
    case 'aws_sns_topic': {
      const n = need('name');
      return { ...literal, arn: arn('sns', n), id: arn('sns', n) };
    }
    case 'aws_lambda_function': {
      const n = need('function_name');
      return { ...literal, arn: arn('lambda', `function:${n}`), id: n };
    }
    case 'aws_athena_workgroup': {
      const n = need('name');
      return { ...literal, arn: arn('athena', `workgroup/${n}`), id: n };
    }
    case 'aws_glue_catalog_database': {
      const n = need('name');
      return { ...literal, arn: arn('glue', `database/${n}`), id: `${ACCOUNT}:${n}` };
    }
    default: return literal;
  }
}

/** Every resource and data source of a stack with its literal attributes, keyed `type.name` / `data.type.name`. */
export class World {
  readonly region: string;
  readonly attrs = new Map<string, Attrs>();
  private readonly failures = new Map<string, string>();

  constructor(readonly stack: StackJson, remoteOutputs: Record<string, Record<string, unknown>> = {}) {
    this.region = stack.provider?.aws?.[0]?.region;
    if (!this.region) throw new Error('the stack has no aws provider region');
    const add = (key: string, type: string, name: string, config: Record<string, any>) => {
      try {
        this.attrs.set(key, attributesOf(type, name, config, this.region, remoteOutputs));
      } catch (e) {
        this.failures.set(key, (e as Error).message);
      }
    };
    for (const [type, all] of Object.entries(stack.resource ?? {})) for (const [name, r] of Object.entries(all)) add(`${type}.${name}`, type, name, r);
    for (const [type, all] of Object.entries(stack.data ?? {})) for (const [name, r] of Object.entries(all)) add(`data.${type}.${name}`, `data.${type}`, name, r);
  }

  /** Attributes of the resource of `type` whose construct path ends with `pathSuffix`. */
  find(type: string, pathSuffix: string): Attrs {
    const hits = Object.entries(this.stack.resource?.[type] ?? {})
      .filter(([, r]) => String((r as any)['//']?.metadata?.path ?? '').endsWith(`/${pathSuffix}`));
    if (hits.length !== 1) throw new Error(`expected one ${type} at */${pathSuffix}, found ${hits.length}`);
    return this.of(`${type}.${hits[0][0]}`);
  }

  /** The addresses of every resource of a type. */
  addresses(type: string): string[] {
    return Object.keys(this.stack.resource?.[type] ?? {}).map((n) => `${type}.${n}`);
  }

  of(key: string): Attrs {
    const a = this.attrs.get(key);
    if (!a) throw new Error(this.failures.get(key) ?? `no resource ${key} in the stack`);
    return a;
  }

  /** A resource's configuration as synthesized. */
  config(address: string): Record<string, any> {
    const [type, name] = address.split('.');
    const r = this.stack.resource?.[type]?.[name];
    if (!r) throw new Error(`no resource ${address} in the stack`);
    return r;
  }

  /** The local name standing for a resource in the evaluation config. */
  static localName(key: string): string {
    return `r__${key.replace(/\./g, '__')}`;
  }

  /** Rewrite every reference to a resource or data source of the stack into a local of the evaluation config. */
  rewrite(text: string, used: Set<string>): string {
    return text.replace(/(?<![\w.-])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?=\.[A-Za-z_])/g, (match, data: string | undefined, type: string, name: string) => {
      const key = `${data ?? ''}${type}.${name}`;
      const known = data ? this.stack.data?.[type]?.[name] : this.stack.resource?.[type]?.[name];
      if (!known) return match;
      this.of(key); // throws with the reason when it cannot be resolved
      used.add(key);
      return `local.${World.localName(key)}`;
    });
  }

  /**
   * Evaluate synthesized attribute values (strings, possibly `${...}` templates) with Terraform.
   * Returns the values in the same order. Terraform errors (an attribute the world does not
   * know, a function it cannot evaluate) fail with Terraform's message.
   */
  evaluate(values: string[]): unknown[] {
    if (!values.length) return [];
    const used = new Set<string>();
    const outputs: Record<string, { value: string }> = {};
    values.forEach((v, i) => { outputs[`v${i}`] = { value: this.rewrite(v, used) }; });
    const locals: Record<string, Attrs> = {};
    for (const key of used) locals[World.localName(key)] = this.of(key);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-iam-eval-'));
    try {
      writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals, output: outputs }, null, 2));
      const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_DATA_DIR: path.join(dir, '.terraform') };
      const tf = process.env.TERRAFORM_BIN || 'terraform';
      const run = (args: string[]) => {
        try {
          return execFileSync(tf, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
        } catch (e) {
          const err = e as { stderr?: string; message: string };
          throw new Error(`terraform ${args[0]} of the policy evaluation failed (is terraform on PATH?): ${err.stderr || err.message}`);
        }
      };
      run(['init', '-input=false', '-no-color', '-backend=false']);
      run(['apply', '-auto-approve', '-input=false', '-no-color', `-state=${path.join(dir, 'eval.tfstate')}`]);
      const out = JSON.parse(run(['output', '-json', `-state=${path.join(dir, 'eval.tfstate')}`])) as Record<string, { value: unknown }>;
      return values.map((_, i) => out[`v${i}`].value);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Where policies live in a stack, by resource type and attribute. */
export const POLICY_ATTRIBUTES: Record<string, string[]> = {
  aws_iam_role: ['assume_role_policy'],
  aws_iam_role_policy: ['policy'],
  aws_iam_policy: ['policy'],
  aws_s3_bucket_policy: ['policy'],
  aws_sqs_queue_policy: ['policy'],
  aws_sns_topic_policy: ['policy'],
  aws_kms_key: ['policy'],
};
/** What each policy resource is attached to (role, bucket, queue, topic), by attribute. */
const ATTACHMENT: Record<string, string> = {
  aws_iam_role_policy: 'role',
  aws_s3_bucket_policy: 'bucket',
  aws_sqs_queue_policy: 'queue_url',
  aws_sns_topic_policy: 'arn',
};

export interface RenderedPolicy {
  readonly address: string;
  readonly attribute: string;
  readonly document: { Version: string; Statement: any[] };
  /** The role name, bucket name, queue URL or topic ARN it is attached to. */
  readonly attachedTo?: string;
}

export interface RenderedStack {
  readonly world: World;
  readonly policies: RenderedPolicy[];
  /** The one policy at an address (and attribute); fails when there is none. */
  policy(address: string, attribute?: string): RenderedPolicy['document'];
  /** Policies attached to a role/bucket/queue/topic (its name, URL or ARN). */
  attachedTo(target: string): RenderedPolicy[];
}

/** Render every policy document of a stack to the JSON AWS receives. */
export function renderStack(stack: StackJson, remoteOutputs: Record<string, Record<string, unknown>> = {}): RenderedStack {
  const world = new World(stack, remoteOutputs);
  const jobs: Array<{ address: string; attribute: string; text: string; attachment?: string }> = [];
  for (const [type, attributes] of Object.entries(POLICY_ATTRIBUTES)) {
    for (const [name, r] of Object.entries(stack.resource?.[type] ?? {})) {
      for (const attribute of attributes) {
        const text = (r as any)[attribute];
        if (typeof text !== 'string') continue;
        const attachment = ATTACHMENT[type] ? (r as any)[ATTACHMENT[type]] : undefined;
        jobs.push({ address: `${type}.${name}`, attribute, text, attachment: typeof attachment === 'string' ? attachment : undefined });
      }
    }
  }
  const texts = jobs.flatMap((j) => [j.text, j.attachment ?? '']);
  const values = world.evaluate(texts);
  const policies: RenderedPolicy[] = jobs.map((j, i) => {
    const doc = JSON.parse(String(values[2 * i]));
    return { address: j.address, attribute: j.attribute, document: doc, attachedTo: j.attachment === undefined ? undefined : String(values[2 * i + 1]) };
  });
  return {
    world,
    policies,
    policy(address, attribute) {
      const hit = policies.filter((p) => p.address === address && (attribute === undefined || p.attribute === attribute));
      if (hit.length !== 1) throw new Error(`expected one policy at ${address}${attribute ? `.${attribute}` : ''}, found ${hit.length}`);
      return hit[0].document;
    },
    attachedTo(target) {
      return policies.filter((p) => p.attachedTo === target);
    },
  };
}
