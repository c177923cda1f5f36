/**
 * Shared pieces of the IAM evaluation tests: realistic request contexts, principals, the default
 * key policy, and running a table of cases through the engine.
 */
import { appendFileSync } from 'node:fs';
import { Case, decide, PolicyDocument } from './engine';
import { ACCOUNT, PARTITION } from './render';

/** Another account, for confused-deputy and cross-account cases. */
export const OTHER_ACCOUNT = '210987654321';
/** Every AWS SDK and the CLI call AWS over HTTPS. */
export const TLS = { 'aws:SecureTransport': 'true' } as const;
export const PLAIN_HTTP = { 'aws:SecureTransport': 'false' } as const;

/** The session a role's credentials carry: what `aws:PrincipalArn`-style matching sees. */
export function roleSession(roleName: string, session: string, account = ACCOUNT): string {
  return `arn:${PARTITION}:sts::${account}:assumed-role/${roleName}/${session}`;
}

/** Context of a request signed with a role's session credentials, in this account (or `account`), over TLS. */
export function asRole(roleName: string, extra: Record<string, string | string[]> = {}, account = ACCOUNT): Record<string, string | string[]> {
  return {
    ...TLS,
    'aws:PrincipalArn': `arn:${PARTITION}:iam::${account}:role/${roleName}`,
    'aws:PrincipalAccount': account,
    'aws:PrincipalType': 'AssumedRole',
    ...extra,
  };
}

/**
 * The policy KMS gives a key created without one (AWS KMS Developer Guide, "Default key policy":
 * it gives the account full access to the key and so lets IAM policies allow its use).
 */
export function defaultKeyPolicy(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${PARTITION}:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  };
}

export interface CaseResult { readonly name: string; readonly expect: string; readonly got: string; readonly ok: boolean }

/**
 * Evaluate every case; each result says what was expected and what the engine decided. When
 * IAM_VERDICTS_FILE is set, one line per case is appended there (the verdict list of the issue note).
 */
export async function evaluate(label: string, cases: Case[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    let got: string;
    try {
      const v = await decide(c);
      got = v.decision;
      // A context key the engine drops does not apply to the action: the case would not be what AWS sees.
      if (v.ignoredContextKeys.length) got = `${got} (ignored context keys: ${v.ignoredContextKeys.join(', ')})`;
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    const ok = c.expect === 'Allowed' ? got === 'Allowed' : got === 'ExplicitlyDenied' || got === 'ImplicitlyDenied';
    results.push({ name: c.name, expect: c.expect, got, ok });
  }
  if (process.env.IAM_VERDICTS_FILE) {
    appendFileSync(process.env.IAM_VERDICTS_FILE, results.map((r) => `${label} | ${r.name} | ${r.got}\n`).join(''));
  }
  return results;
}

/** The cases whose verdict differs from what the system needs, as readable lines. */
export function wrong(results: CaseResult[]): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.name}: expected ${r.expect}, engine says ${r.got}`);
}
