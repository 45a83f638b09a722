import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The OpenTelemetry SDK, imported only when an OTLP endpoint is set (otel.ts): a provider whose
 * spans are batched and sent over OTLP/HTTP as JSON. The batch processor's defaults stand (a
 * batch every 5 s or 512 spans, at most 2048 queued; OTEL_BSP_* override them), as do the
 * exporter's other OTEL_EXPORTER_OTLP_* settings (headers, timeout, compression) and the
 * provider's OTEL_TRACES_SAMPLER (default: follow the parent, so a record marked not sampled
 * stays unsampled here).
 */

export interface TracerProviderHandle {
  readonly provider: BasicTracerProvider;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

export function createTracerProvider(settings: { url: string; serviceName: string; exporter?: SpanExporter }): TracerProviderHandle {
  const exporter = settings.exporter ?? new OTLPTraceExporter({ url: settings.url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return { provider, shutdown: () => provider.shutdown() };
}
