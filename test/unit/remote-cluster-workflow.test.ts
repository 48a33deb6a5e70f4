// The RemoteCluster workflow's logic on Temporal's time-skipping test server. Activities are an
// in-memory API server here; the integration tests run the real ones against a real API server.
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';

import type { ObjectActivities } from '../../src/activities/objects.js';
import type { ObjectRef } from '../../src/domain/resources.js';
import type { ObjectSnapshot } from '../../src/domain/snapshot.js';
import { workflowIdFor } from '../../src/domain/workflow-id.js';
import { entityStateQuery, objectChangedSignal, type EntityState } from '../../src/workflows/messages.js';
import { temporalTestServerPath } from '../proving-ground/paths.js';

const ref: ObjectRef = {
  group: 'infrastructure.cluster.x-k8s.io',
  version: 'v1beta1',
  plural: 'remoteclusters',
  kind: 'RemoteCluster',
  namespace: 'default',
  name: 'remote-test',
  uid: 'uid-1',
};

/** A one-object API server with call counters, and failures to inject. */
class FakeApi {
  object: ObjectSnapshot | null = {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'RemoteCluster',
    metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid, generation: 1 },
    spec: {},
  };
  calls: Record<string, number> = {};
  failStatusWrites = 0;

  activities(): ObjectActivities {
    const count = (name: string): void => {
      this.calls[name] = (this.calls[name] ?? 0) + 1;
    };
    return {
      readObject: async () => {
        count('readObject');
        return structuredClone(this.object);
      },
      readCluster: async () => null,
      ensureFinalizer: async ({ finalizer }) => {
        count('ensureFinalizer');
        const meta = this.object!.metadata;
        if (!meta.finalizers?.includes(finalizer)) meta.finalizers = [...(meta.finalizers ?? []), finalizer];
      },
      removeFinalizer: async ({ finalizer }) => {
        count('removeFinalizer');
        const meta = this.object!.metadata;
        meta.finalizers = meta.finalizers?.filter((f) => f !== finalizer);
        if (meta.deletionTimestamp && meta.finalizers?.length === 0) this.object = null;
      },
      applyStatus: async ({ status }) => {
        count('applyStatus');
        if (this.failStatusWrites > 0) {
          this.failStatusWrites--;
          throw ApplicationFailure.retryable('the API server is unavailable', 'KubernetesRequestFailed');
        }
        this.object!.status = { ...(this.object!.status as object), ...status };
      },
      recordEvent: async () => count('recordEvent'),
    };
  }
}

describe('remoteClusterWorkflow', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    });
  }, 120_000);

  afterAll(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(api: FakeApi, taskQueue: string, fn: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: process.env.K0SFLOW_WORKFLOW_BUNDLE! },
      activities: api.activities(),
    });
    return worker.runUntil(fn);
  }

  const start = (taskQueue: string) =>
    env.client.workflow.start('remoteClusterWorkflow', {
      workflowId: workflowIdFor(ref) + '/' + taskQueue,
      taskQueue,
      args: [{ ref }],
    });

  async function settled(
    handle: Awaited<ReturnType<typeof start>>,
    reconciles: number
  ): Promise<EntityState> {
    for (;;) {
      const state = await handle.query(entityStateQuery);
      if (state.reconciles >= reconciles && state.phase !== 'reconciling') return state;
      await env.sleep('1 second');
    }
  }

  it('adds its finalizer and reports ready; stale hints read nothing', async () => {
    const api = new FakeApi();
    await withWorker(api, 'tq-ready', async () => {
      const handle = await start('tq-ready');
      const state = await settled(handle, 1);
      expect(state.handledGeneration).toBe(1);
      expect(api.object?.metadata.finalizers).toEqual(['k0sflow.dev/finalizer']);
      expect(api.object?.status).toMatchObject({ ready: true, initialization: { provisioned: true } });
      expect(api.calls.recordEvent).toBe(1);

      const reads = api.calls.readObject;
      await handle.signal(objectChangedSignal, { generation: 0 }); // older than handled: a no-op
      await handle.signal(objectChangedSignal, { generation: 1 }); // same generation: re-read, patch nothing
      await settled(handle, 2);
      expect(api.calls.readObject).toBe(reads! + 1);
      expect(api.calls.applyStatus).toBe(1);
    });
  });

  it('honours the paused annotation: only the Paused condition moves', async () => {
    const api = new FakeApi();
    api.object!.metadata.annotations = { 'cluster.x-k8s.io/paused': '' };
    await withWorker(api, 'tq-paused', async () => {
      const handle = await start('tq-paused');
      const state = await settled(handle, 1);
      expect(state.phase).toBe('paused');
      expect(api.object?.status).toMatchObject({ ready: false, initialization: { provisioned: false } });
      expect((api.object?.status as { conditions: { type: string; status: string }[] }).conditions).toEqual([
        expect.objectContaining({ type: 'Paused', status: 'True' }),
      ]);
    });
  });

  it('survives an API outage longer than its activity retries, on a durable timer', async () => {
    const api = new FakeApi();
    api.failStatusWrites = 10; // more than the 8 attempts of one activity call
    await withWorker(api, 'tq-outage', async () => {
      const handle = await start('tq-outage');
      let state = await settled(handle, 1);
      expect(state.phase).toBe('failed');
      expect(state.lastError).toContain('unavailable');
      await env.sleep('2 minutes'); // the entity loop retries after a minute
      state = await settled(handle, 2);
      expect(state.lastError).toBeUndefined();
      expect(api.object?.status).toMatchObject({ ready: true });
      expect(api.calls.applyStatus).toBe(11);
    });
  });

  it('on deletion removes its finalizer and completes', async () => {
    const api = new FakeApi();
    await withWorker(api, 'tq-delete', async () => {
      const handle = await start('tq-delete');
      await settled(handle, 1);
      api.object!.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      await handle.signal(objectChangedSignal, { deleting: true });
      await handle.result();
      expect(api.calls.removeFinalizer).toBe(1);
      expect(api.object).toBeNull();
    });
  });
});

describe('remoteClusterWorkflow with bad input', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    });
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('reports InvalidSpec as a condition and one Warning event, and does not loop', async () => {
    const api = new FakeApi();
    const events: string[] = [];
    const activities = api.activities();
    const originalRead = activities.readObject.bind(activities);
    activities.readObject = async (r) => {
      const o = await originalRead(r);
      return (
        o && {
          ...o,
          invalid: 'spec.controlPlaneEndpoint.port: Invalid input: expected number, received string',
        }
      );
    };
    activities.recordEvent = async (e) => {
      events.push(`${e.type}/${e.reason}`);
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'tq-invalid',
      workflowBundle: { codePath: process.env.K0SFLOW_WORKFLOW_BUNDLE! },
      activities,
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('remoteClusterWorkflow', {
        workflowId: 'invalid',
        taskQueue: 'tq-invalid',
        args: [{ ref }],
      });
      await handle.signal(objectChangedSignal, { generation: 1 });
      let state = await handle.query(entityStateQuery);
      while (state.reconciles < 2) {
        await env.sleep('1 second');
        state = await handle.query(entityStateQuery);
      }
      expect(state.phase).toBe('failed');
      const conditions = (
        api.object?.status as {
          conditions: { type: string; status: string; reason: string; message?: string }[];
        }
      ).conditions;
      expect(conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'Ready',
            status: 'False',
            reason: 'InvalidSpec',
            message: expect.stringContaining('spec.controlPlaneEndpoint.port'),
          }),
        ])
      );
      expect(api.object?.status).toMatchObject({ ready: false });
      expect(events).toEqual(['Warning/InvalidSpec']);
      // Idle until the object changes: an hour later nothing more has run.
      await env.sleep('1 hour');
      expect((await handle.query(entityStateQuery)).reconciles).toBe(state.reconciles);
      expect(api.calls.applyStatus).toBe(1);
    });
  });
});
