import type { Clock } from '../platform/clock.js';
import type { NotifierStores } from './ports.js';
import type { TemplateEngine } from './templates/template-engine.js';

/** What the notifier's use cases need: storage, the template engine, time and defaults. */
export interface NotifierContext {
  stores: NotifierStores;
  templates: TemplateEngine;
  clock: Clock;
  /** Locale of recipients created without one, and the last step of template fallback. */
  defaultLocale: string;
  /** Time zone of recipients created without one. */
  defaultTimeZone: string;
}
