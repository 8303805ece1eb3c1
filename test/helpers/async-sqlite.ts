/**
 * The synchronous SQLite store behind the `AsyncStore` interface, for the contract suite that runs
 * against both engines (test/contract/). The adapter is open.ts's (openStore returns SQLite that way
 * too); it goes away when the coordinator's Store itself is asynchronous.
 */
export { promised as asyncSqlite } from '../../coordinator/store/open.js';
