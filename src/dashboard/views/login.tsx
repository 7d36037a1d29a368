/**
 * The login page: the API token or the dashboard password, the name the audit log will show
 * (optional), and where to go once logged in.
 */
import { ACTOR_MAX } from '../query.ts';
import { Layout, renderPage } from './layout.tsx';

export interface LoginPageProps {
  /** Why the last attempt was refused, above the form. */
  error?: string | undefined;
  /** The page to go back to once logged in (already checked to be a path of this site). */
  next?: string | undefined;
  /** The name given in the refused attempt, kept in its field. */
  name?: string | undefined;
}

/** The login page as HTML. */
export function loginPage({ error, next, name }: LoginPageProps = {}): string {
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
          <label>
            Your name (for the audit log)
            <input type="text" name="name" autocomplete="name" maxlength={ACTOR_MAX} value={name ?? ''} placeholder="optional" />
          </label>
          <input type="hidden" name="next" value={next ?? ''} />
          <button type="submit">Log in</button>
        </form>
      </div>
    </Layout>,
  );
}
