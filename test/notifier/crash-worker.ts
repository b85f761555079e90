/**
 * Child process for the crash test: a tny container on the SQLite file in DATA_DIR (argv[2])
 * whose only job is delivering (NOTIFY_WORKERS=1, webhook channel to the test's receiver).
 * The test kills it with SIGKILL at random points and starts another.
 */
import { loadConfig } from '../../src/config/config.js';
import { createContainer } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';

const [dataDir] = process.argv.slice(2) as [string];
const config = loadConfig({
  DATA_DIR: dataDir,
  BASE_URL: 'http://tny.test',
  LOG_LEVEL: 'silent',
  CLICK_FLUSH_INTERVAL_MS: '60000',
  NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
  NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  NOTIFY_WORKERS: '1',
  NOTIFY_LEASE_MS: '3000', // above any stall under CI load: a live worker stalled past its lease is the other way to send twice
  NOTIFY_RETRY_BASE_MS: '50',
  NOTIFY_MAX_ATTEMPTS: '100',
});
const container = await createContainer(config, createLogger('silent'));
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void container.lifecycle.close().then(() => process.exit(0));
});
