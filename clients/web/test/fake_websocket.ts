// A stand-in for the browser's WebSocket, driven by the test: each instance is recorded, and the
// test says when it opens, receives, errors or closes (events fire synchronously when told).

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  /** Every socket made since the last `reset`, oldest first. */
  static made: FakeWebSocket[] = [];
  /** Called for each new socket (after it is recorded): the "server" deciding what happens. */
  static onCreate: (ws: FakeWebSocket) => void = () => undefined;

  static reset() {
    FakeWebSocket.made = [];
    FakeWebSocket.onCreate = () => undefined;
  }

  readonly url: string;
  readyState = FakeWebSocket.CONNECTING;
  binaryType = "blob";
  closeCalls = 0;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;

  constructor(url: string | URL) {
    this.url = String(url);
    FakeWebSocket.made.push(this);
    FakeWebSocket.onCreate(this);
  }

  close() {
    this.closeCalls++;
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    queueMicrotask(() => this.onclose?.({ code: 1000 } as CloseEvent));
  }

  // The server's side.
  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({} as Event);
  }

  receive(bytes: Uint8Array) {
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.onmessage?.({ data } as MessageEvent);
  }

  /** What a browser does when the connection is refused: error, then close. */
  refuse() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onerror?.({} as Event);
    this.onclose?.({ code: 1006 } as CloseEvent);
  }

  /** Closed by the server, with no error event (e.g. at once after the upgrade). */
  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code: 1000 } as CloseEvent);
  }
}
