// A stand-in for the Tauri shell, for layout and i18n checks of ui/dist in a plain browser
// (never instead of the real app's end-to-end tests). It answers `app_info`,
// `set_language` and `live_snapshot` from window.__SWITCHBOARD_FIXTURE__ (written by
// check.py from `cargo run -p ui --example wall_fixture`) and captures the
// `switchboard://live` handler the way `window.__TAURI__.event.listen` does.
//
// The fixture's "early" updates are pushed while `live_snapshot` is being answered — after
// the UI started listening, before it has the snapshot — so a UI that asks for the
// snapshot before listening, or folds a covered event again, shows the wrong wall. The
// "later" updates follow shortly after.
//
// With `?empty=1` the shell has no live calls yet, is still connecting, and is linked to a
// configured hub rather than the built-in demo. With `?big=1` it has 1,000 live calls.
(() => {
  const params = new URLSearchParams(window.location.search);
  const busy = window.__SWITCHBOARD_FIXTURE__;
  const connecting = { state: 'connecting' };
  const fixture = params.get('empty')
    ? {
        appInfo: { ...busy.appInfo, connection: connecting, hub: { url: 'https://hub.example.invalid:8720', demo: false, tokenStorage: { kind: 'keychain' } } },
        snapshot: { events: [], lastSeq: 0, connection: connecting },
        early: [],
        later: [],
      }
    : params.get('big')
      ? { ...busy, snapshot: busy.big, early: [], later: [] }
      : busy;
  let language = params.get('lang') || fixture.appInfo.language;
  const handlers = new Map();
  let nextHandler = 1;
  const calls = [];

  const emit = (payload) => {
    for (const handler of handlers.values()) {
      handler({ event: 'switchboard://live', id: 0, payload });
    }
  };
  const appInfo = () => ({ ...fixture.appInfo, language });

  window.__TAURI__ = {
    core: {
      invoke: async (cmd, args) => {
        calls.push(cmd);
        switch (cmd) {
          case 'app_info':
            return appInfo();
          case 'set_language':
            language = args.req.language;
            return appInfo();
          case 'live_snapshot':
            fixture.early.forEach(emit);
            setTimeout(() => fixture.later.forEach(emit), 300);
            return fixture.snapshot;
          default:
            throw `command ${cmd} not found`;
        }
      },
    },
    event: {
      listen: async (name, handler) => {
        calls.push(`listen:${name}`);
        const id = nextHandler++;
        handlers.set(id, handler);
        return () => handlers.delete(id);
      },
    },
  };

  // What the stub saw, for check.py to read from the DOM dump.
  window.addEventListener('load', () => {
    setTimeout(() => {
      document.body.setAttribute('data-stub-calls', calls.join(' '));
      document.body.setAttribute('data-stub-listeners', String(handlers.size));
    }, 2000);
  });
})();
