// Test-only message triggers (`WORKER_TEST_TRIGGERS=1`), shared by the plain answer and the agent run.

/** Test-only: `/__crash` kills the worker mid-message like a real bug would; `/__hang` freezes it. */
export async function fireTestTrigger(text: string): Promise<void> {
  if (text === '/__crash') {
    // Thrown outside any promise chain, so the process dies with the item still `processing`
    setImmediate(() => {
      throw new Error('test trigger: crash');
    });
    await new Promise<never>(() => undefined);
  }
  if (text === '/__hang') {
    for (;;) {
      // a hung worker: the event loop never turns again, so heartbeats stop
    }
  }
}
