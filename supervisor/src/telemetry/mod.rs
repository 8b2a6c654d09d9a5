//! OpenTelemetry for a `stem` process: a meter provider whose readers are the exporters chosen by
//! [`settings::Settings`] (OTLP over HTTP, a Prometheus registry for scraping, the console) and a
//! tracer provider (OTLP over HTTP, console) whose span ids come from [`ids::StemIds`]. The
//! worker's metrics and spans are made by `observe::otel`; `prom` serves the Prometheus text.

pub mod ids;
pub mod prom;
pub mod settings;

use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use settings::{Exporter, Protocol, Settings};

/// The providers of one process; [`Telemetry::shutdown`] flushes what is pending.
pub struct Telemetry {
    meters: Option<SdkMeterProvider>,
    tracers: Option<SdkTracerProvider>,
    registry: Option<prometheus::Registry>,
}

fn protocol(s: &Settings) -> opentelemetry_otlp::Protocol {
    match s.protocol {
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
    }
}

fn resource(service: &str, instance: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_string())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            instance.to_string(),
        ))
        .build()
}

impl Telemetry {
    /// Nothing exported, nothing measured.
    pub fn off() -> Telemetry {
        Telemetry {
            meters: None,
            tracers: None,
            registry: None,
        }
    }

    /// Starts the exporters `settings` names (Prometheus also when `prometheus` is true).
    pub fn start(
        settings: &Settings,
        prometheus: bool,
        service: &str,
        instance: &str,
    ) -> Result<Telemetry, String> {
        let mut metrics = settings.metrics.clone();
        if prometheus {
            metrics.insert(Exporter::Prometheus);
        }
        let mut registry = None;
        let meters = if metrics.is_empty() {
            None
        } else {
            let mut b = SdkMeterProvider::builder().with_resource(resource(service, instance));
            for exporter in &metrics {
                match exporter {
                    Exporter::Otlp => {
                        let e = opentelemetry_otlp::MetricExporter::builder()
                            .with_http()
                            .with_protocol(protocol(settings))
                            .with_endpoint(settings.url("metrics"))
                            .build()
                            .map_err(|e| format!("cannot set up the OTLP metric exporter: {e}"))?;
                        b = b.with_reader(PeriodicReader::builder(e).build());
                    }
                    Exporter::Console => {
                        let e = opentelemetry_stdout::MetricExporter::default();
                        b = b.with_reader(PeriodicReader::builder(e).build());
                    }
                    Exporter::Prometheus => {
                        let r = prometheus::Registry::new();
                        let e = opentelemetry_prometheus::exporter()
                            .with_registry(r.clone())
                            .scope_info_enabled(false)
                            .build()
                            .map_err(|e| format!("cannot set up the Prometheus exporter: {e}"))?;
                        registry = Some(r);
                        b = b.with_reader(e);
                    }
                }
            }
            Some(b.build())
        };
        let tracers = if settings.traces.is_empty() {
            None
        } else {
            let mut b = SdkTracerProvider::builder()
                .with_resource(resource(service, instance))
                .with_id_generator(ids::StemIds::default());
            for exporter in &settings.traces {
                match exporter {
                    Exporter::Otlp => {
                        let e = opentelemetry_otlp::SpanExporter::builder()
                            .with_http()
                            .with_protocol(protocol(settings))
                            .with_endpoint(settings.url("traces"))
                            .build()
                            .map_err(|e| format!("cannot set up the OTLP span exporter: {e}"))?;
                        b = b.with_batch_exporter(e);
                    }
                    Exporter::Console => {
                        b = b.with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
                    }
                    Exporter::Prometheus => {}
                }
            }
            Some(b.build())
        };
        Ok(Telemetry {
            meters,
            tracers,
            registry,
        })
    }

    pub fn meter(&self) -> Option<Meter> {
        self.meters.as_ref().map(|p| p.meter("stem"))
    }

    pub fn tracer(&self) -> Option<SdkTracer> {
        self.tracers.as_ref().map(|p| p.tracer("stem"))
    }

    /// The Prometheus registry, when Prometheus is one of the exporters.
    pub fn registry(&self) -> Option<&prometheus::Registry> {
        self.registry.as_ref()
    }

    /// Exports what is pending and stops the exporters (blocks: call it off the async threads).
    pub fn shutdown(&self) {
        if let Some(t) = &self.tracers {
            if let Err(e) = t.shutdown() {
                tracing::warn!("cannot flush the spans: {e}");
            }
        }
        if let Some(m) = &self.meters {
            if let Err(e) = m.shutdown() {
                tracing::warn!("cannot flush the metrics: {e}");
            }
        }
    }
}
