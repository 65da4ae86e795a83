//! The portal's words in Japanese and English. One struct, so a text missing
//! in one language does not compile.

/// The page language, chosen with the switch (a cookie) and defaulting to
/// Japanese, the users' first language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

pub struct Texts {
    pub switch_to: &'static str,
    pub title: &'static str,
    pub nav_search: &'static str,
    pub nav_audit: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub signed_in_as: &'static str,
    pub bad_credentials: &'static str,
    pub search_title: &'static str,
    pub similar: &'static str,
    pub substructure: &'static str,
    pub query_label: &'static str,
    pub query_hint: &'static str,
    pub draw: &'static str,
    pub top: &'static str,
    pub threshold: &'static str,
    pub search: &'static str,
    pub starting: &'static str,
    pub hits: &'static str,
    pub no_hits: &'static str,
    pub partial: &'static str,
    pub export_csv: &'static str,
    pub export_sdf: &'static str,
    pub structure: &'static str,
    pub score: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub page: &'static str,
    pub compound: &'static str,
    pub identity: &'static str,
    pub descriptors: &'static str,
    pub flags: &'static str,
    pub alerts: &'static str,
    pub none: &'static str,
    pub batches: &'static str,
    pub samples: &'static str,
    pub related: &'static str,
    pub audit_title: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub action: &'static str,
    pub target: &'static str,
    pub detail: &'static str,
    pub error: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
}

pub const JA: Texts = Texts {
    switch_to: "English",
    title: "創薬 Soyaku — アカデミア創薬支援基盤",
    nav_search: "化合物検索",
    nav_audit: "監査ログ",
    sign_in: "ログイン",
    sign_out: "ログアウト",
    username: "ユーザー名",
    password: "パスワード",
    signed_in_as: "ログイン中",
    bad_credentials: "ユーザー名またはパスワードが違います。",
    search_title: "化合物ライブラリ検索",
    similar: "類似性検索",
    substructure: "部分構造検索",
    query_label: "検索構造（SMILES / SMARTS）",
    query_hint: "構造式エディタで描くか、SMILES を入力してください",
    draw: "構造式を描く",
    top: "上位件数",
    threshold: "類似度しきい値（任意）",
    search: "検索",
    starting: "サーバーを起動中です",
    hits: "件ヒット",
    no_hits: "該当する化合物はありません。",
    partial: "時間制限または件数上限のため、結果は一部です。",
    export_csv: "CSV で書き出し",
    export_sdf: "SDF で書き出し",
    structure: "構造",
    score: "スコア",
    previous: "前へ",
    next: "次へ",
    page: "ページ",
    compound: "化合物",
    identity: "同一性",
    descriptors: "記述子",
    flags: "フィルター",
    alerts: "構造アラート",
    none: "なし",
    batches: "バッチ",
    samples: "サンプル（容器）",
    related: "関連化合物（立体異性体・互変異性体）",
    audit_title: "監査ログ",
    when: "日時",
    who: "ユーザー",
    action: "操作",
    target: "対象",
    detail: "詳細",
    error: "エラー",
    yes: "適合",
    no: "不適合",
};

pub const EN: Texts = Texts {
    switch_to: "日本語",
    title: "Soyaku — shared infrastructure for academic drug discovery",
    nav_search: "Compound search",
    nav_audit: "Audit log",
    sign_in: "Sign in",
    sign_out: "Sign out",
    username: "Username",
    password: "Password",
    signed_in_as: "Signed in as",
    bad_credentials: "Wrong username or password.",
    search_title: "Search the compound library",
    similar: "Similarity",
    substructure: "Substructure",
    query_label: "Query structure (SMILES / SMARTS)",
    query_hint: "Draw it in the editor or type SMILES",
    draw: "Draw a structure",
    top: "Top hits",
    threshold: "Similarity threshold (optional)",
    search: "Search",
    starting: "The server is starting",
    hits: "hits",
    no_hits: "No compound matches.",
    partial: "Partial results: the time budget or the hit limit cut the search short.",
    export_csv: "Export CSV",
    export_sdf: "Export SDF",
    structure: "Structure",
    score: "Score",
    previous: "Previous",
    next: "Next",
    page: "Page",
    compound: "Compound",
    identity: "Identity",
    descriptors: "Descriptors",
    flags: "Filters",
    alerts: "Structural alerts",
    none: "none",
    batches: "Batches",
    samples: "Samples (containers)",
    related: "Related compounds (stereo variants, tautomers)",
    audit_title: "Audit log",
    when: "When",
    who: "Who",
    action: "Action",
    target: "Target",
    detail: "Detail",
    error: "Error",
    yes: "pass",
    no: "fail",
};
