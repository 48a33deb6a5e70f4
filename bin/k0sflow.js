#!/usr/bin/env node
// Runs the built CLI (npm run build); from a source checkout `npx tsx src/cli/main.ts` does the same.
await import('../dist/cli/main.js');
