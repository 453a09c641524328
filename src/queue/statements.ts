// The queue's statements go through the one per-connection cache of src/db (the supervisor's
// store uses it too, and may not import src/queue).
export { prepared } from '../db/statements';
