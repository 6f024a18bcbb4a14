import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one closing line `tests: N passed, N failed[, N skipped]` that CI reads. A module that
 * failed to load (syntax error, failing beforeAll) counts as one failure, so the line never says
 * "0 failed" for a broken run.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let testsInModule = 0;
      for (const test of mod.children.allTests()) {
        testsInModule++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && (testsInModule === 0 || mod.errors().length > 0)) failed++;
    }
    failed += unhandledErrors.length;
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${tail}\n`);
  }
}
