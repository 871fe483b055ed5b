// The command line as a user meets it: bad flags, missing or corrupt files and wrong models each end with one
// `digitgen: error:` line that names the problem and a non-zero exit, never a crash or a stack trace.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/e2e/e2e_util.h"

namespace dg {
namespace {

using e2e::CliResult;
using e2e::run_cli;

// A clean failure: exit status 1 or CLI11's own, the message present, no sign of a crash.
void expect_clean_error(const std::string& args, const std::string& must_mention) {
  const CliResult r = run_cli(args);
  SCOPED_TRACE("digitgen " + args + "\n" + r.output);
  EXPECT_NE(r.status, 0);
  EXPECT_LT(r.status, 128) << "killed by a signal";
  EXPECT_NE(r.output.find(must_mention), std::string::npos);
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos);
  EXPECT_EQ(r.output.find("Aborted"), std::string::npos);
}

TEST(Cli, BadInputsGiveOneLineErrors) {
  e2e::TempDir dir("cli");
  const std::string d = dir.path.string();
  expect_clean_error("train --model nosuchmodel --out " + d + "/r", "unknown model kind 'nosuchmodel'");
  expect_clean_error("train --model vae --out " + d + "/r --device tpu", "--device");
  expect_clean_error("train --model vae --out " + d + "/r --profile-steps 5", "--profile-steps");
  expect_clean_error("train --model vae --out " + d + "/r --adam-betas 0.9", "--adam-betas");
  expect_clean_error("train --model vae --out " + d + "/r --latent-size 3", "latent-size");
  expect_clean_error("train --model vae --out " + d + "/r --data " + d + "/nowhere", "nowhere");
  expect_clean_error("train --resume " + d + "/missing-run", "config.json");
  expect_clean_error("sample --checkpoint " + d + "/none.safetensors --out " + d + "/x.png", "no such file");
  {
    std::ofstream bad(dir.path / "corrupt.safetensors", std::ios::binary);
    bad << "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1";  // header length 16, then a truncated header
  }
  expect_clean_error("sample --checkpoint " + d + "/corrupt.safetensors --out " + d + "/x.png", "corrupt.safetensors");
  expect_clean_error("classify --input " + d + "/corrupt.safetensors", "corrupt.safetensors");
  EXPECT_FALSE(std::filesystem::exists(dir.path / "x.png"));
}

TEST(Cli, LabelOnAnUnconditionalModelIsAnError) {
  DG_REQUIRE_MNIST(data);
  e2e::TempDir dir("cli-label");
  const std::string run = (dir.path / "ae").string();
  const CliResult t = run_cli("train --model ae --hidden 16 --latent 2 --epochs 1 --train-images 256 --test-images 100 "
                              "--device cpu --quiet --data " + data + " --out " + run);
  ASSERT_EQ(t.status, 0) << t.output;
  expect_clean_error("sample --checkpoint " + run + " --label 3 --out " + run + "/threes.png", "ae");
  const CliResult s = run_cli("sample --checkpoint " + run + " --n 12 --out " + run + "/twelve.idx");
  EXPECT_EQ(s.status, 0) << s.output;
  EXPECT_EQ(std::filesystem::file_size(dir.path / "ae" / "twelve.idx"), 16u + 12u * 784u);
}

}  // namespace
}  // namespace dg
