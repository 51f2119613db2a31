// Small statistics helpers for the benchmarks.
'use strict';

/** The p-th percentile (0–100) by nearest rank; NaN for no samples. */
function percentile(samples, p) {
    if (samples.length === 0) return NaN;
    const sorted = Float64Array.from(samples).sort();
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function median(values) {
    return percentile(values, 50);
}

function latencySummary(samples) {
    return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), n: samples.length };
}

/** Median of each field over repetitions of the same summary shape. */
function medianOf(summaries, fields) {
    const out = {};
    for (const field of fields) out[field] = median(summaries.map((s) => s[field]));
    return out;
}

module.exports = { percentile, median, latencySummary, medianOf };
