// Charts through gnuplot: loss curves of a run folder's metrics.jsonl as a PNG. gnuplot is a separate program
// (Debian's gnuplot-nox); when it is missing the caller gets a clear error, and training goes on without a chart.
#pragma once
#include <string>

namespace dg {

// True when a gnuplot executable is on PATH.
bool gnuplot_available();

// Plots every numeric series of `metrics_jsonl` against the step: one panel with the train and test values of
// `headline` and of `loss` (when present), written to `png_path` atomically. Throws dg::Error on failure.
void plot_metrics(const std::string& metrics_jsonl, const std::string& headline, const std::string& png_path);

}  // namespace dg
