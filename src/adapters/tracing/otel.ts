import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, diag, trace, type Context, type DiagLogger, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SpanAttributes, TraceSpan, Tracing } from '../../app/ports.js';
import { noTracing } from '../../app/tracing.js';
import { formatTraceparent, parseTraceparent } from '../../domain/trace-context.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracerProviderHandle } from './sdk.js';

/**
 * OpenTelemetry spans for the tracing port (docs/operations.md, "Tracing"). Without an OTLP
 * endpoint nothing is loaded but the API, and every span is the app's unrecorded one: an object
 * and a property read, no context, no ids. With one, start() imports the SDK and the OTLP/HTTP
 * exporter (a dynamic import, so a service without an endpoint never loads them), registers the
 * provider as the process's global one, and spans are children of each refund's stored context.
 */

export interface TracingSettings {
  /** Where spans go (OTLP/HTTP JSON): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. Undefined: off. */
  readonly tracesUrl?: string;
  /** OTEL_SERVICE_NAME */
  readonly serviceName: string;
}

export interface OtelTracing extends Tracing {
  /** Whether spans are exported (an endpoint is set); known before start(). */
  readonly enabled: boolean;
  /** Loads and registers the SDK when enabled; idempotent. Spans before it are unrecorded. */
  start(): Promise<void>;
  /** Exports what is buffered and unregisters; idempotent, never rejects. */
  stop(): Promise<void>;
}

const KINDS = { internal: SpanKind.INTERNAL, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER } as const;

/** The context a refund's spans start under: its stored traceparent as a remote parent. */
function parentContext(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  const parsed = parseTraceparent(traceparent);
  if (!parsed.ok) return ROOT_CONTEXT;
  const { traceId, parentId, flags } = parsed.value;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentId, traceFlags: Number.parseInt(flags, 16), isRemote: true });
}

function definedOnly(attributes: SpanAttributes | undefined): Record<string, string | number | boolean> | undefined {
  if (attributes === undefined) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function recordedSpan(tracer: Tracer, name: string, parent: string | undefined, attributes: SpanAttributes | undefined, kind: keyof typeof KINDS): TraceSpan {
  const span = tracer.startSpan(name, { kind: KINDS[kind], attributes: definedOnly(attributes) }, parentContext(parent));
  const sc = span.spanContext();
  const traceparent = formatTraceparent({ traceId: sc.traceId, parentId: sc.spanId, flags: (sc.traceFlags & 0xff).toString(16).padStart(2, '0') });
  return {
    recording: span.isRecording(),
    logFields: { trace_id: sc.traceId, span_id: sc.spanId },
    set: (more) => span.setAttributes(definedOnly(more)!),
    fail: (message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
    end: () => span.end(),
    traceparent: () => traceparent,
  };
}

/** OpenTelemetry's own complaints (an export that failed, a full queue) in our log, as warnings. */
function diagLogger(log: Logger): DiagLogger {
  const warn = (message: string, ...args: unknown[]) => log.warn({ args: args.map(String) }, `OpenTelemetry: ${message}`);
  const quiet = () => undefined;
  return { error: warn, warn, info: quiet, debug: quiet, verbose: quiet };
}

/** `exporter` replaces the OTLP exporter (tests read the spans in memory). */
export function createTracing(settings: TracingSettings, logger: Logger, options: { exporter?: SpanExporter } = {}): OtelTracing {
  const log = logger.child({ component: 'tracing' });
  let tracer: Tracer | undefined;
  let handle: TracerProviderHandle | undefined;
  let registered = false;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const { tracesUrl } = settings;

  return {
    enabled: tracesUrl !== undefined,
    span(name, parent, attributes, kind = 'internal') {
      return tracer === undefined ? noTracing.span(name, parent) : recordedSpan(tracer, name, parent, attributes, kind);
    },
    start() {
      starting ??= (async () => {
        if (tracesUrl === undefined) return;
        const { createTracerProvider } = await import('./sdk.js');
        handle = createTracerProvider({ url: tracesUrl, serviceName: settings.serviceName, exporter: options.exporter });
        // Global, so any other OpenTelemetry instrumentation in the process joins the same
        // provider; a second service in one process (tests) keeps its own provider all the same.
        registered = trace.setGlobalTracerProvider(handle.provider);
        if (registered) diag.setLogger(diagLogger(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
        tracer = handle.provider.getTracer('refund-notifier');
        log.info({ endpoint: tracesUrl, serviceName: settings.serviceName }, 'exporting traces over OTLP/HTTP');
      })();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        await starting?.catch(() => undefined);
        tracer = undefined;
        if (!handle) return;
        try {
          await handle.shutdown();
        } catch (err) {
          // The last batch could not be sent (the collector is down): spans are lost, nothing else.
          log.warn({ err }, 'spans could not be exported at shutdown');
        } finally {
          if (registered) {
            trace.disable();
            diag.disable();
          }
        }
      })();
      return stopping;
    },
  };
}
