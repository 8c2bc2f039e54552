// parquetjs, loaded on first use: it pulls in about a hundred modules (thrift,
// compression codecs, an S3 client), and the embedded engine writes our
// Parquet files itself, so a process that never reads a footer or encodes with
// parquetjs should not pay for them at start.
import type * as Parquetjs from '@dsnp/parquetjs';

type ParquetLib = (typeof Parquetjs)['default'];

let loading: Promise<ParquetLib> | undefined;

export function parquetjs(): Promise<ParquetLib> {
  loading ??= import('@dsnp/parquetjs').then((m) => m.default);
  return loading;
}
