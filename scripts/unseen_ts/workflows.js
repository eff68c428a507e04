const wf = require('@temporalio/workflow');
const { proxyActivities, proxyLocalActivities, sleep, condition, defineSignal, setHandler,
        CancellationScope, patched, deprecatePatch, startChild, continueAsNew, upsertMemo,
        ApplicationFailure, isCancellation, workflowInfo, defineUpdate, defineQuery } = wf;

const acts = proxyActivities({ startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 1, maximumAttempts: 3 } });
const locals = proxyLocalActivities({ startToCloseTimeout: '5s',
  retry: { initialInterval: '100ms', maximumAttempts: 3 } });

const go = defineSignal('go');
const bump = defineUpdate('bump');
const count = defineQuery('count');

async function tsChild(n) {
  await sleep(100);
  if (n < 0) throw ApplicationFailure.nonRetryable('child says no', 'ChildNo', { n });
  return n * 2;
}

async function tsMixed(round) {
  let released = false;
  let total = 0;
  setHandler(go, () => { released = true; });
  setHandler(bump, (by) => { total += by; return total; }, { validator: (by) => { if (by < 0) throw new Error('negative'); } });
  setHandler(count, () => total);
  if (patched('ts-patch-1')) { total += 1; }
  deprecatePatch('ts-patch-old');
  upsertMemo({ round, stage: 'start' });
  const a = await acts.flaky(2);
  const l = await locals.flaky(1);
  // a timer cancelled by its scope
  try {
    await CancellationScope.cancellable(async () => {
      const p = sleep(30000);
      CancellationScope.current().cancel();
      await p;
    });
  } catch (e) { if (!isCancellation(e)) throw e; }
  const c = await wf.executeChild(tsChild, { args: [3], workflowId: workflowInfo().workflowId + '-c' + round });
  let childErr = '';
  try {
    await wf.executeChild(tsChild, { args: [-1], workflowId: workflowInfo().workflowId + '-bad' + round });
  } catch (e) { childErr = e.cause ? e.cause.message : String(e); }
  const got = await condition(() => released, '20s');
  upsertMemo({ stage: 'end', round: null });
  if (round === 0) {
    await continueAsNew(1);
  }
  if (!got) throw ApplicationFailure.create({ message: 'never released', type: 'NoSignal', details: [a, l, c] });
  return { a, l, c, childErr, total };
}

async function tsFails() {
  try {
    await acts.flaky(5);
  } catch (e) {
    throw ApplicationFailure.create({ message: 'gave up', type: 'GaveUp', nonRetryable: true, details: ['x', 1], cause: e });
  }
}

module.exports = { tsChild, tsMixed, tsFails };
