/**
 * Prints one plain closing line ("tests: N passed, N failed") after jest's own summary, so CI
 * logs state the count in a form any reader can parse. Where TSVIRT_JEST_RUNNING names a file,
 * each test file's path is written there as it starts: a crash of the jest process itself
 * (scripts/jest-crash-trace.sh) can then say which file was running.
 */
const fs = require('node:fs');

class SummaryReporter {
  onTestFileStart(test) {
    if (process.env.TSVIRT_JEST_RUNNING) fs.appendFileSync(process.env.TSVIRT_JEST_RUNNING, `${test.path}\n`);
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const tail = skipped ? `, ${skipped} skipped` : '';
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed${tail}\n`);
  }
}
module.exports = SummaryReporter;
