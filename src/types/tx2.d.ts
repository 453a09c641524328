// The part of tx2 (PM2's custom-metrics client) that the worker uses; the package ships no types.
declare module 'tx2' {
  interface Tx2 {
    metric(name: string, unit: string, value: () => number | string): void;
    metric(name: string, value: () => number | string): void;
  }
  const tx2: Tx2;
  export = tx2;
}
