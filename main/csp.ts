// The Content-Security-Policy of every FlowDesk page, in one place: the renderer build writes it
// into index.html as a <meta> (file:// pages get no headers), and servers send it as a header.

// Only the app's own bundle runs: no eval, no inline scripts, no other origins. Inline styles
// stay allowed because Vite injects <style> tags in development and Vue's static markup may
// carry style attributes; 'self' also covers WebSockets back to the page's own host.
const DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
];

/** For the <meta http-equiv> tag, which cannot carry frame-ancestors. */
export const META_CSP = DIRECTIVES.join('; ');

/** For the Content-Security-Policy response header. */
export const HEADER_CSP = [...DIRECTIVES, "frame-ancestors 'none'"].join('; ');
