// The worker's dispatch reaches exactly the routed calls: every route lands on a method of its
// service, and any other name (a service's own helpers and fields, Object.prototype's members,
// the host's calls) is refused with BAD_ARGUMENT without touching a service.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatch, type Dispatch, type WorkerServices } from '../../main/worker/dispatch.ts';
import { ExploreService } from '../../main/worker/explore-service.ts';
import { LabService } from '../../main/worker/lab-service.ts';
import { ModelCache } from '../../main/worker/model-cache.ts';
import { RestoreService } from '../../main/worker/restore-service.ts';
import { WORKER_ROUTES } from '../../main/worker/routes.ts';
import { RunsService } from '../../main/worker/runs-service.ts';
import { EngineService } from '../../main/worker/service.ts';

let runsDir: string;
let services: WorkerServices;
let dispatch: Dispatch;

beforeAll(async () => {
  runsDir = await mkdtemp(join(tmpdir(), 'flowdesk-dispatch-'));
  const models = new ModelCache();
  services = { engine: new EngineService(runsDir, () => undefined, models, [runsDir]), explore: new ExploreService(runsDir, models, [runsDir], () => undefined), runs: new RunsService(runsDir), lab: new LabService(runsDir, [runsDir], () => undefined), restore: new RestoreService(runsDir, models, () => undefined) };
  dispatch = createDispatch(services);
});
afterAll(() => rm(runsDir, { recursive: true, force: true }));

describe('worker dispatch', () => {
  it('routes every worker call to a method of its service', () => {
    for (const [call, service] of Object.entries(WORKER_ROUTES)) {
      expect(typeof (services[service] as unknown as Record<string, unknown>)[call], call).toBe('function');
    }
  });

  it('answers a routed call, and turns a thrown error into a Result', async () => {
    expect(await dispatch('listRuns', null)).toEqual({ ok: true, value: [] });
    const missing = await dispatch('getRun', { runId: 'no-such-run' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
  });

  it('refuses every name that is not a routed call', async () => {
    const names = [
      'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'prototype',
      'runDir', 'activeRunId', 'runsDir', 'launch', 'stop', 'summary', 'emit', 'models', 'active',
      'explorer', 'pixels', 'png', 'getAppInfo', 'chooseFolder', 'onEvent', 'pathOfDroppedFile', '', 'listruns',
    ];
    for (const name of names) {
      const r = await dispatch(name, null);
      expect(r, name).toEqual({ ok: false, error: { code: 'BAD_ARGUMENT', message: `Unknown call ${JSON.stringify(name)}.` } });
    }
  });
});
