import { EdgeError } from '../../src/worker/errors';

/** The EdgeError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function edgeError(promise: Promise<unknown>): Promise<EdgeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof EdgeError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
