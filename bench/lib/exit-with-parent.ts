// Preloaded into the baseline bots (`node --require`): they exit when the benchmark that spawned
// them goes away, even by SIGKILL, instead of polling a dead fake forever. The bots stay as a user
// would write them.
if (process.connected) process.on('disconnect', () => process.exit(0));
