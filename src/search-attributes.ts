import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';

import { searchAttributes } from './workflows/messages.js';
import { errorText, type Logger } from './util/log.js';

/**
 * Registers k0sflow's search attributes in the namespace if missing. On servers where the worker may
 * not do that (Temporal Cloud), the operator registers them once; we only warn.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  log: Logger
): Promise<void> {
  const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = Object.values(searchAttributes)
      .map((key) => key.name)
      .filter((name) => !known.has(name));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
    });
    log.info('registered search attributes', { names: missing });
  } catch (err) {
    log.warn('could not register search attributes; register them once with the temporal CLI', {
      error: errorText(err),
      names: Object.values(searchAttributes).map((k) => k.name),
    });
  }
}
