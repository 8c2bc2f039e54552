// Shared clients built once at boot and handed to every service. They open
// after the HTTP servers listen (so /health answers during WAL replay); until
// then a getter throws a 503 "not ready" instead of handing out half a client.
import type { DataPath } from '../data-path.js';
import { Errors } from './errors.js';
import type { StateStore } from './state-store.js';

export class SharedResources {
  private _stateStore?: StateStore;
  private _dataPath?: DataPath;

  get stateStore(): StateStore {
    if (!this._stateStore) throw Errors.notReady('state store');
    return this._stateStore;
  }

  set stateStore(store: StateStore) {
    this._stateStore = store;
  }

  get dataPath(): DataPath {
    if (!this._dataPath) throw Errors.notReady('data path (WAL replay)');
    return this._dataPath;
  }

  set dataPath(dp: DataPath) {
    this._dataPath = dp;
  }

  get hasDataPath(): boolean {
    return this._dataPath !== undefined;
  }
}
