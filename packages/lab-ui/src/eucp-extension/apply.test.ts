// Runs the EUCP extension's unit tests (plain JavaScript, apply.test.mjs) in the project's
// test suite, which collects `*.test.ts` files (scripts/test.sh).
import './apply.test.mjs';
