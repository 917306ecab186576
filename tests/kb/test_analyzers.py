from kb.analyzers import analyze
from kb.synonyms import synonym_map


def test_chinese_is_segmented_into_words_and_their_sub_words():
    assert analyze("打印机卡纸") == ["打印", "印机", "打印机", "卡纸"]


def test_domain_words_stay_whole():
    assert "登机牌" in analyze("登机牌打印机")
    assert "行李转盘" in analyze("行李转盘停止")


def test_english_is_lowercased_stemmed_and_stopped():
    assert analyze("The Printers were JAMMED") == ["printer", "jam"]


def test_mixed_text_keeps_both_scripts():
    assert analyze("VPN连接失败 error") == ["vpn", "连接", "失败", "error"]


def test_fullwidth_letters_are_normalised():
    assert analyze("ＶＰＮ") == ["vpn"]


def test_compounds_index_parts_and_joined_form_but_query_joined_only():
    assert analyze("Wi-Fi") == ["wi", "fi", "wifi"]
    assert analyze("Wi-Fi", query=True) == ["wifi"]
    assert analyze("ping 10.0.0.1") == ["ping", "10.0.0.1"]
    assert analyze("outlook.exe", query=True) == ["outlook.exe"]


def test_chinese_stop_words_are_dropped():
    assert analyze("怎么重置密码") == ["重置", "密码"]


def test_synonyms_are_mutual_and_analyzed():
    synonyms = synonym_map()
    assert "comput" in synonyms["pc"]
    assert "pc" in synonyms["comput"]
    assert "登陆" in synonyms["登录"]
    assert "wifi" in synonyms["wireless"]
