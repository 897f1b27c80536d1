import ui

s = ui.page_setup("6_Initiatives")
import streamlit as st
st.title("6_Initiatives")
f = ui.filters()
st.write(f)
