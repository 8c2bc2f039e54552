// Public surface of the Parquet sink; everything else in this folder is internal.

export { ParquetSink } from './parquet-sink.js';
export { EnginePartWriter, partFileSettings, partFileStructure, partRowLine } from './engine-part-writer.js';
export type { PartWriter } from './part-writer.js';
export type { ExternalPart, MergeInput, ParquetSinkOptions } from './parquet-sink.js';
export type { PartSummary } from './part-summary.js';
export { summarize } from './part-summary.js';
export { partitionByUtcDate } from './utc-date.js';
export type { ColumnSpec, ColumnType, StoredRecord, WrittenPart } from './types.js';
export { formatPartName, parsePartName } from './part-name.js';
export type { PartRange } from './part-name.js';
