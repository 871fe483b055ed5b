// `digitgen report`: evaluates several runs (or reads their `digitgen eval` JSON) and writes one Markdown page that
// compares them: one table (models as rows, metrics as columns), bar charts of the main metrics (gnuplot PNG), a grid
// of samples per model, and the time each metric took. Evaluations are kept under DIR/evals/ and reused when the
// report is run again on the same checkpoint files (size and modification time) with the same seed, sample count and
// metrics, so a long report can be resumed.
#pragma once
#include <string>
#include <vector>

#include "models/evaluation.h"

namespace dg {

struct ReportOptions {
  std::vector<std::string> runs;  // run folders or checkpoint files, or JSON files written by `digitgen eval`
  std::string out;                // the report folder (created)
  EvalOptions eval;               // settings for the evaluations (the checkpoint is set per run)
  std::string command;            // the command line, quoted on the page
  bool quiet = false;
};

// Writes DIR/README.md, DIR/charts.png (when gnuplot is there), DIR/samples/<name>.png and DIR/evals/<name>.json.
void write_report(const ReportOptions& o);

}  // namespace dg
