// How help text names FlowDesk's per-user data folder (engine/app-paths.ts' dataDir), the same on
// every command that keeps something there: runs by default, and `flowdesk setup onnx`'s package.

function platformDataDir(): string {
  if (process.platform === 'win32') return '%APPDATA%\\FlowDesk';
  if (process.platform === 'darwin') return '~/Library/Application Support/FlowDesk';
  return '$XDG_DATA_HOME/flowdesk or ~/.local/share/flowdesk';
}

export const DATA_DIR_HELP = `the data folder ($FLOWDESK_DATA_DIR, else ${platformDataDir()})`;
