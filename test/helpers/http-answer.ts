// One HTTP call as tests read it: status, parsed JSON body (empty when the
// answer is not JSON) and the raw text for assertion messages.
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

export async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text };
}

/** The `error.code` of a JSON error answer. */
export function errorCode(a: Answer): string {
  return String((a.body.error as { code?: string } | undefined)?.code);
}
