// The generated Kotlin bindings, Android flavour, as an Android library. Run
// `cargo xtask bindings --release` in the repository first (README.md).
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.gridpatrol.core"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].java.srcDir(rootDir.resolve("../build/bindings/kotlin-android"))
    // cargo-ndk writes libgridpatrol_ffi.so per ABI here (README.md, "Packaging the Rust library").
    sourceSets["main"].jniLibs.srcDir(rootDir.resolve("../build/android/jniLibs"))
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}
kotlin { jvmToolchain(17) }

dependencies {
    // JNA's Android AAR carries libjnidispatch.so for each ABI.
    api("${libs.jna.get()}@aar")
    api(libs.kotlinx.coroutines.core)
    implementation(libs.androidx.annotation)
}
