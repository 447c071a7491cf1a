import { useEffect, useId, useState } from 'react';
import type { AccessGroup, Grantable } from '../../api/catalog.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { useCatalogApi } from '../../hooks/useCatalogApi.js';

/**
 * "Request access": choose one of the groups that would grant it, read its licence, tick
 * "I accept the licence", send. `onDone(granted)` after the hub accepted the request.
 */
export function RequestAccess({ groups, onDone }: { groups: readonly Grantable[]; onDone: (granted: boolean) => void }) {
  const catalog = useCatalogApi();
  const choices = groups.filter((g) => g.membership !== 'approved');
  const [chosen, setChosen] = useState(choices[0]?.group ?? '');
  const [group, setGroup] = useState<AccessGroup | null>(null);
  const [accepted, setAccepted] = useState(false);
  const [purpose, setPurpose] = useState('');
  const load = useAction();
  const send = useAction();
  const ids = useId();

  useEffect(() => {
    if (!chosen) return;
    setGroup(null);
    setAccepted(false);
    void load.run(async () => setGroup(await catalog.group(chosen)));
  }, [chosen, catalog]);

  if (choices.length === 0) return <p className="muted">No group you may join grants access to this data set.</p>;
  const needsLicence = !!group?.licence;
  const submit = () =>
    void send.run(async () => {
      const r = await catalog.requestAccess(chosen, group?.licence ? { id: group.licence.id, sha256: group.licence.sha256 } : null, purpose || undefined);
      onDone(r.state === 'approved');
    });

  return (
    <div className="request-access card">
      <h3>Request access</h3>
      <fieldset className="request-access__groups">
        <legend>Group</legend>
        {choices.map((g) => (
          <label key={g.group} className="checkbox">
            <input type="radio" name={`${ids}-group`} value={g.group} checked={chosen === g.group} onChange={() => setChosen(g.group)} />
            {g.group}
            <span className="small muted">{g.automatic_approval ? ' — approved at once' : ' — an administrator approves each request'}</span>
            {g.membership === 'pending' ? <span className="tag tag--quiet">pending</span> : null}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={load.error} />
      {group ? (
        <>
          {group.description ? <p className="small">{group.description}</p> : null}
          {group.licence ? (
            <>
              <h4>Licence {group.licence.id}</h4>
              <pre className="licence" tabIndex={0} aria-label={`Licence ${group.licence.id}`}>
                {group.licence.text ?? '(the hub returned no licence text)'}
              </pre>
              <label className="checkbox">
                <input type="checkbox" checked={accepted} onChange={(e) => setAccepted(e.target.checked)} />I accept the licence
              </label>
            </>
          ) : null}
          <div className="field">
            <label htmlFor={`${ids}-purpose`}>Purpose (optional)</label>
            <input id={`${ids}-purpose`} className="input" value={purpose} maxLength={2000} onChange={(e) => setPurpose(e.target.value)} />
          </div>
          <ErrorNote error={send.error} />
          <button type="button" className="button button--primary" disabled={send.busy || (needsLicence && !accepted)} onClick={submit}>
            Send request
          </button>
        </>
      ) : null}
    </div>
  );
}
