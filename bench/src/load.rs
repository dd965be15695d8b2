//! A closed-loop load generator: N workers, each sending its next request as
//! soon as the previous one answers, for a fixed time, after a warm-up.

use std::time::{Duration, Instant};

pub struct Outcome {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    /// Latencies in microseconds, sorted.
    pub latencies: Vec<u64>,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i] as f64 / 1000.0
    }
}

/// Runs `workers` loops of `request(worker, n)` for `duration`.
pub async fn run<F, Fut>(workers: usize, duration: Duration, request: F) -> Outcome
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                if !request(worker, n).await {
                    errors += 1;
                }
                latencies.push(sent.elapsed().as_micros() as u64);
                n += 1;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Outcome { requests: latencies.len(), errors, seconds, latencies }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}
