// Charts through gnuplot: loss curves of a run folder's metrics.jsonl as a PNG. gnuplot is a separate program
// (Debian's gnuplot-nox); when it is missing the caller gets a clear error, and training goes on without a chart.
#pragma once
#include <functional>
#include <string>

namespace dg {

// True when a gnuplot executable is on PATH.
bool gnuplot_available();

// Writes `data` to a temporary file, runs the gnuplot script that `script(data_path, png_path)` returns, and renames
// the PNG onto `png_path` only when gnuplot succeeded; temporary files are removed either way.
void draw_with_gnuplot(const std::string& data,
                       const std::function<std::string(const std::string& data_path, const std::string& png_path)>& script,
                       const std::string& png_path);

// Plots every numeric series of `metrics_jsonl` against the step: one panel with the train and test values of
// `headline` and of `loss` (when present), written to `png_path` atomically. Throws dg::Error on failure.
void plot_metrics(const std::string& metrics_jsonl, const std::string& headline, const std::string& png_path);

}  // namespace dg
