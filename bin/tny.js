#!/usr/bin/env node
import('../dist/main/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('tny: the build is missing; run `npm run build` first\n');
    process.exit(1);
  }
  throw err;
});
