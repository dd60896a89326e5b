import sqlite3, time, os
lines=open(__import__('sys').argv[1],'rb').read().splitlines()
if os.path.exists(__import__('sys').argv[2]): os.remove(__import__('sys').argv[2])
c=sqlite3.connect(__import__('sys').argv[2], isolation_level=None); c.execute('pragma journal_mode=wal'); c.execute('pragma synchronous=normal')
c.execute('create table t(seq integer primary key, id text, rule text, action text, event blob)')
t=time.perf_counter()
for i in range(0,len(lines),1000):
    c.execute('begin'); c.executemany('insert into t(id,rule,action,event) values(?,?,?,?)', [("msg_%032d"%j,'all','audit',lines[j]) for j in range(i,min(i+1000,len(lines)))]); c.execute('commit')
d=time.perf_counter()-t
t=time.perf_counter(); c.execute('begin'); c.execute('delete from t'); c.execute('commit'); d2=time.perf_counter()-t
print(f"sqlite batched insert (1000/commit): {len(lines)/d:.0f} rows/s; insert+delete {len(lines)/(d+d2):.0f}/s")
