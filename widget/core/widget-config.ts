/**
 * Which Causerie service the widget talks to (token service, MatrixRTC `livekit_service_url`): the
 * `service_url` of the config.json served beside the widget, so that a deployment may serve the
 * widget under another path or origin (Element Web's own call-app path) and keep one service URL,
 * the one its homeservers advertise. Without a readable config: the service serving the widget.
 * Pure: the caller fetches.
 */
const MAX_URL = 2048;

export function serviceUrlFrom(config: unknown, widgetUrl: string): string {
  const fallback = new URL('..', widgetUrl).href.replace(/\/+$/, '');
  if (typeof config !== 'object' || config === null) return fallback;
  const url = (config as Record<string, unknown>)['service_url'];
  if (typeof url !== 'string' || url.length > MAX_URL) return fallback;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return fallback;
    if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') return fallback;
    return parsed.href.replace(/\/+$/, '');
  } catch {
    return fallback;
  }
}
