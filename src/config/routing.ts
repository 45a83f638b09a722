import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isEmailAddress } from '../domain/email-address.js';
import { ConfigError } from '../domain/errors.js';
import { normaliseResultCode } from '../domain/result-codes.js';
import { formatPath, readYamlFile, schemaProblems, type Path, type Problem } from './yaml-paths.js';
import {
  GROUP_FIELDS,
  NOTIFICATION_EVENTS,
  ROUTE_TEMPLATES,
  type GroupField,
  type NotificationEvent,
  type ReceiverSpec,
  type RouteMatch,
  type RouteNode,
  type RouteTemplate,
  type RoutingTree,
} from '../domain/routing.js';

/**
 * config/routing.yaml: which outcome goes to which receiver (format: docs/notifications.md).
 * An operator's `<CONFIG_DIR>/routing.yaml` replaces the shipped file whole rather than being
 * merged into it: routes are ordered and fall through, so a merged tree would be one nobody wrote.
 */
export const SHIPPED_ROUTING_FILE = fileURLToPath(new URL('../../config/routing.yaml', import.meta.url));
const ROUTING_FILE_NAME = 'routing.yaml';

/** `<configDir>/routing.yaml` when there is one, else the shipped defaults. */
export function routingFilePath(configDir: string | undefined): string {
  if (configDir !== undefined) {
    const candidate = join(configDir, ROUTING_FILE_NAME);
    if (existsSync(candidate)) return candidate;
  }
  return SHIPPED_ROUTING_FILE;
}

export interface RoutingLoadOptions {
  /**
   * Reason codes a route may match on (the result-code table's codes plus any synthetic ones).
   * When given, a code outside it is an error: a typo such as RISK_REJECTED would otherwise turn
   * an escalation route off without a word.
   */
  readonly knownReasonCodes?: Iterable<string>;
}

// The same pragmatic checks as the settings (src/config/settings.ts): a value failing them is a
// typo in practice.
const SLACK_CHANNEL = /^(#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{6,})$/;
const RECEIVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const CODE = /^[A-Z][A-Z0-9_]*$/;

const upper = (s: string) => s.trim().toUpperCase();

/** One value or a list of them; always a list afterwards. */
function list<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).min(1, 'must list at least one value'));
}

const text = (what: string) =>
  z.union([z.string(), z.number()], { error: `must be ${what}` }).transform((v) => String(v).trim()).pipe(z.string().min(1, `must be ${what}`));

const eventSchema = z.enum(NOTIFICATION_EVENTS as [NotificationEvent, ...NotificationEvent[]], {
  error: (issue) => `must be one of ${NOTIFICATION_EVENTS.join(', ')}; got ${JSON.stringify(issue.input)}`,
});

const reasonCodeSchema = z
  .string({ error: 'must be a reason code such as RISK_REJECT' })
  .transform(upper)
  .superRefine((code, ctx) => {
    if (!CODE.test(code)) {
      ctx.addIssue({ code: 'custom', message: `"${code}" is not a reason code (upper case letters, digits and _)` });
      return;
    }
    const normalised = normaliseResultCode(code);
    if (normalised !== code) {
      ctx.addIssue({ code: 'custom', message: `write ${code} without its v2 prefix, as ${normalised}: prefixed codes are normalised before routing` });
    }
  });

const currencySchema = z
  .string({ error: 'must be a three-letter ISO 4217 code such as USD' })
  .regex(/^\s*[A-Za-z]{3}\s*$/, 'must be a three-letter ISO 4217 code such as USD')
  .transform(upper);

const matchSchema = z
  .object({
    event: list(eventSchema).optional(),
    reasonCode: list(reasonCodeSchema).optional(),
    status: list(text('a refund status such as FAIL').transform(upper)).optional(),
    currency: list(currencySchema).optional(),
    amountAbove: z
      .object({
        currency: currencySchema,
        value: z
          .union([z.string(), z.number()], { error: 'must be an amount in minor units, e.g. "100000" for USD 1,000.00' })
          .transform((v) => String(v).trim())
          .pipe(z.string().regex(/^\d+$/, 'must be a whole number of minor units, e.g. "100000" for USD 1,000.00')),
      })
      .strict(),
    merchantAccountId: list(text('a merchant account id')),
    paymentMethodType: list(text('a payment method type such as CARD').transform(upper)),
    escalate: z.boolean({ error: 'must be true or false' }),
  })
  .partial()
  .strict();

const receiverSchema = z
  .object({
    slack: z.string({ error: 'must be a channel: $SLACK_OPS_CHANNEL, $SLACK_ESCALATION_CHANNEL, #name or a channel id' }).trim(),
    email: list(z.string({ error: 'must be an address or $ESCALATION_EMAIL_TO' }).trim()),
    customerEmail: z.literal(true, { error: 'must be true (leave it out otherwise)' }),
  })
  .partial()
  .strict();

interface RawRoute {
  name?: string;
  match?: z.output<typeof matchSchema>;
  receivers?: string[];
  template?: RouteTemplate;
  groupBy?: GroupField[];
  playbook?: string;
  continue?: boolean;
  routes?: RawRoute[];
}

const routeSchema: z.ZodType<RawRoute> = z.lazy(() =>
  z
    .object({
      name: text('a name'),
      match: matchSchema,
      receivers: list(z.string({ error: 'must be the name of a receiver' }).trim()),
      template: z.enum(ROUTE_TEMPLATES as [RouteTemplate, ...RouteTemplate[]], {
        error: (issue) =>
          `must be one of ${ROUTE_TEMPLATES.join(', ')}; got ${JSON.stringify(issue.input)} (customer-completed comes with a customerEmail receiver)`,
      }),
      groupBy: list(
        z.enum(GROUP_FIELDS as unknown as [GroupField, ...GroupField[]], {
          error: (issue) => `must be one of ${GROUP_FIELDS.join(', ')}; got ${JSON.stringify(issue.input)}`,
        }),
      ),
      playbook: text('a line of text'),
      continue: z.boolean({ error: 'must be true or false' }),
      routes: z.array(routeSchema, { error: 'must be a list of routes' }).min(1, 'must list at least one route (or leave it out)'),
    })
    .partial()
    .strict(),
);

const fileSchema = z
  .object({
    version: z.literal(1, { error: 'must be 1' }).optional(),
    receivers: z.record(z.string(), receiverSchema, {
      error: (issue) => (issue.input === undefined ? 'is missing: name the receivers routes send to' : 'must be a mapping of receiver names to receivers'),
    }),
    routes: z
      .array(routeSchema, { error: (issue) => (issue.input === undefined ? 'is missing: list the routes' : 'must be a list of routes') })
      .min(1, 'must list at least one route'),
  })
  .strict();

type RawFile = z.output<typeof fileSchema>;

export interface ParsedRoutingFile {
  readonly tree?: RoutingTree;
  /** `file:line: path: problem`, one per problem. */
  readonly problems: readonly string[];
}

/** Parses and validates a routing file's text; reports problems instead of throwing. */
export function parseRoutingFile(source: string, fileName: string, options: RoutingLoadOptions = {}): ParsedRoutingFile {
  const file = readYamlFile(source, fileName);
  if (file.syntaxProblems.length > 0) return { problems: file.syntaxProblems };
  const value = file.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problems: [`${fileName}: expected a mapping with \`receivers:\` and \`routes:\``] };
  }
  const format = (p: Problem) => file.problem(p.path, p.message);

  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) return { problems: schemaProblems(parsed.error.issues, knownKeysHint).map(format) };

  const problems = crossCheck(parsed.data, receiverNamesOf(value), options);
  if (problems.length > 0) return { problems: problems.map(format) };
  return { tree: buildTree(parsed.data, file.where), problems: [] };
}

/** Reads and validates a routing file; throws one ConfigError listing every problem. */
export function loadRoutingTree(path: string, options: RoutingLoadOptions = {}): RoutingTree {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  const parsed = parseRoutingFile(source, path, options);
  if (!parsed.tree) throw new ConfigError(parsed.problems);
  return parsed.tree;
}

function receiverNamesOf(value: object): string[] {
  const receivers = (value as { receivers?: unknown }).receivers;
  return receivers && typeof receivers === 'object' ? Object.keys(receivers) : [];
}

/** What the schema cannot see: references between parts of the file, and receiver values. */
function crossCheck(file: RawFile, receiverNames: string[], options: RoutingLoadOptions): Problem[] {
  const problems: Problem[] = [];
  const known = options.knownReasonCodes ? new Set([...options.knownReasonCodes].map(normaliseResultCode)) : undefined;
  const customerReceivers = new Set<string>();

  for (const name of receiverNames) {
    const at = (...rest: (string | number)[]): Path => ['receivers', name, ...rest];
    if (!RECEIVER_NAME.test(name)) {
      problems.push({ path: at(), message: 'a receiver name is letters, digits, ".", "_" and "-"' });
    }
    const spec = file.receivers[name];
    if (!spec) continue;
    if (spec.slack === undefined && spec.email === undefined && spec.customerEmail === undefined) {
      problems.push({ path: at(), message: 'says nowhere to send: give slack:, email: and/or customerEmail: true' });
    }
    if (spec.customerEmail) customerReceivers.add(name);
    if (spec.slack !== undefined) {
      const ref = spec.slack;
      if (ref.startsWith('$')) {
        if (ref !== '$SLACK_OPS_CHANNEL' && ref !== '$SLACK_ESCALATION_CHANNEL') {
          problems.push({ path: at('slack'), message: `unknown variable ${ref}: use $SLACK_OPS_CHANNEL or $SLACK_ESCALATION_CHANNEL` });
        }
      } else if (!SLACK_CHANNEL.test(ref)) {
        problems.push({ path: at('slack'), message: `"${ref}" is not a channel: write #name (lower case) or a channel id such as C0123ABCD` });
      }
    }
    spec.email?.forEach((ref, i) => {
      if (ref.startsWith('$')) {
        if (ref !== '$ESCALATION_EMAIL_TO') {
          problems.push({ path: at('email', i), message: `unknown variable ${ref}: the only address variable is $ESCALATION_EMAIL_TO` });
        }
      } else if (!isEmailAddress(ref)) {
        problems.push({ path: at('email', i), message: `"${ref}" is not an email address` });
      }
    });
  }

  const walk = (routes: readonly RawRoute[], base: Path, events: ReadonlySet<NotificationEvent>) => {
    routes.forEach((route, i) => {
      const path: Path = [...base, i];
      const own = route.match?.event ? new Set(route.match.event.filter((e) => events.has(e))) : events;
      const hasReceivers = (route.receivers?.length ?? 0) > 0;
      const hasRoutes = (route.routes?.length ?? 0) > 0;
      if (!hasReceivers && !hasRoutes) {
        problems.push({ path, message: 'sends nowhere: give it receivers: or routes:' });
      }
      route.receivers?.forEach((name, j) => {
        if (!receiverNames.includes(name)) {
          const choices = receiverNames.length > 0 ? ` (defined: ${receiverNames.join(', ')})` : '';
          problems.push({ path: [...path, 'receivers', j], message: `unknown receiver "${name}"${choices}` });
        } else if (customerReceivers.has(name) && !own.has('refund.completed')) {
          problems.push({
            path: [...path, 'receivers', j],
            message: `receiver "${name}" emails the customer, which happens for refund.completed only, and this route cannot match refund.completed`,
          });
        }
      });
      if (known) {
        route.match?.reasonCode?.forEach((code, j) => {
          if (!known.has(code)) {
            problems.push({ path: [...path, 'match', 'reasonCode', j], message: `${code} is not in the result-code table (config/result-codes.yaml); a typo would silently disable this route` });
          }
        });
      }
      if (route.routes) walk(route.routes, [...path, 'routes'], own);
    });
  };
  walk(file.routes, ['routes'], new Set(NOTIFICATION_EVENTS));
  return problems;
}

function buildTree(file: RawFile, sourceOf: (path: Path) => string): RoutingTree {
  const receivers = new Map<string, ReceiverSpec>();
  for (const [name, spec] of Object.entries(file.receivers)) {
    receivers.set(name, {
      name,
      slack: spec.slack,
      email: spec.email,
      ...(spec.customerEmail ? { customerEmail: true } : {}),
    });
  }
  const build = (routes: readonly RawRoute[], base: Path): RouteNode[] =>
    routes.map((route, i) => {
      const path: Path = [...base, i];
      const match: RouteMatch = route.match ?? {};
      return {
        name: route.name ?? formatPath(path),
        match,
        receivers: route.receivers ?? [],
        template: route.template,
        groupBy: route.groupBy,
        playbook: route.playbook,
        continue: route.continue ?? false,
        routes: route.routes ? build(route.routes, [...path, 'routes']) : [],
        source: sourceOf(path),
      };
    });
  return { receivers, routes: build(file.routes, ['routes']) };
}

function knownKeysHint(path: Path): string {
  const last = path[path.length - 1];
  const secondLast = path[path.length - 2];
  let keys: readonly string[] | undefined;
  if (path.length === 0) keys = ['version', 'receivers', 'routes'];
  else if (last === 'match') keys = Object.keys(matchSchema.shape);
  else if (secondLast === 'receivers') keys = ['slack', 'email', 'customerEmail'];
  else if (typeof last === 'number') keys = ['name', 'match', 'receivers', 'template', 'groupBy', 'playbook', 'continue', 'routes'];
  else if (last === 'amountAbove') keys = ['currency', 'value'];
  return keys ? ` (known: ${keys.join(', ')})` : '';
}
