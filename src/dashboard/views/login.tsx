/** The login page: the API token or the dashboard password, nothing else on it. */
import { Layout, renderPage } from './layout.tsx';

/** The login page as HTML, with `error` above the form after a refused attempt. */
export function loginPage(error?: string): string {
  return renderPage(
    <Layout title="Log in" nav={false}>
      <div class="login card">
        <h1>Log in</h1>
        {error && <p class="error">{error}</p>}
        <form method="post" action="/login">
          <label>
            API token or password
            <input type="password" name="secret" autocomplete="current-password" autofocus />
          </label>
          <input type="hidden" name="next" value="" />
          <button type="submit">Log in</button>
        </form>
      </div>
    </Layout>,
  );
}
