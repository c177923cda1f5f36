/**
 * The rescue document as the stack writes it (modules/log-rescue/document.ts), read back for what
 * SSM checks at SendCommand: the parameter names, their defaults and `allowedPattern`s, and the
 * step's execution timeout.
 */
import { rescueDocumentContent } from '../../modules/log-rescue/document';

export interface DocumentParameter {
  readonly allowedPattern: RegExp;
  readonly default?: string;
}

export interface SimulatedDocument {
  readonly name: string;
  readonly parameters: Readonly<Record<string, DocumentParameter>>;
  readonly executionTimeoutSeconds: number;
}

export function loadRescueDocument(p: {
  name: string; prefix: string; logGlobs: readonly string[]; includeJournal: boolean; executionTimeoutSeconds: number;
}): SimulatedDocument {
  const text = rescueDocumentContent({
    bucketName: 'logrescue-dev-rescue-archive',
    prefix: p.prefix,
    logGlobs: [...p.logGlobs],
    includeJournal: p.includeJournal,
    executionTimeoutSeconds: p.executionTimeoutSeconds,
  });
  // The content is escaped for Terraform; SSM sees the rendered text.
  const doc = JSON.parse(text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')) as {
    parameters: Record<string, { allowedPattern: string; default?: string }>;
    mainSteps: Array<{ inputs: { timeoutSeconds: number } }>;
  };
  const parameters: Record<string, DocumentParameter> = {};
  for (const [key, def] of Object.entries(doc.parameters)) {
    parameters[key] = { allowedPattern: new RegExp(def.allowedPattern), ...(def.default === undefined ? {} : { default: def.default }) };
  }
  return { name: p.name, parameters, executionTimeoutSeconds: doc.mainSteps[0].inputs.timeoutSeconds };
}

/** SSM's InvalidParameters check, or undefined when the parameters are acceptable. */
export function parameterProblem(doc: SimulatedDocument, given: Record<string, string[]> | undefined): string | undefined {
  const params = given ?? {};
  for (const [key, values] of Object.entries(params)) {
    const def = doc.parameters[key];
    if (!def) return `Parameter "${key}" is not defined in the document`;
    if (values.length !== 1) return `Parameter "${key}" takes exactly one value`;
    if (!def.allowedPattern.test(values[0])) return `Parameter "${key}" "${values[0].slice(0, 64)}" failed to satisfy constraint: does not match allowedPattern`;
  }
  for (const [key, def] of Object.entries(doc.parameters)) {
    if (def.default === undefined && params[key] === undefined) return `Parameter "${key}" is required but was not provided`;
  }
  return undefined;
}
